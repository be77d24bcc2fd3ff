# Sourced by the benchmarks: noop_context DIR FILES BASE writes a build context of
# FILES small Python files under DIR/src and a three-line docker/Dockerfile FROM
# BASE that copies them: the context of the no-op docker-build measurements.
noop_context() {
  local dir=$1 files=$2 base=$3
  mkdir -p "$dir/docker" "$dir/src"
  python3 - "$dir/src" "$files" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, f"pkg{i // 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"mod{i:05d}.py"), "w") as f:
        f.write(f"# module {i}\n" + "x = 1\n" * (i % 200))
PY
  printf 'FROM %s\nCOPY src/ /src/\nRUN find /src -type f | wc -l > /count\n' "$base" >"$dir/docker/Dockerfile"
}
