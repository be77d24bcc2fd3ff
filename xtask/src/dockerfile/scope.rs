//! Variable scopes inside stages: which `ARG` and `ENV` values an instruction sees.
//!
//! Docker's rules: global `ARG`s (before the first `FROM`) are visible only to `FROM`
//! lines until a stage redeclares them (`ARG NAME` without a value takes the global
//! value); a stage's `ARG NAME=default` gives way to a build-arg override; `ENV` wins
//! over an `ARG` of the same name and is inherited by stages built `FROM` this one,
//! while `ARG`s are not.

use std::collections::BTreeMap;

use super::expand::expand;
use super::stages::{global_scope, Base};
use super::Dockerfile;

/// The `ARG`s and `ENV`s of one stage up to some instruction.
#[derive(Default)]
struct Scope {
    args: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

impl Scope {
    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name).or_else(|| self.args.get(name)).cloned()
    }

    fn merged(self) -> BTreeMap<String, String> {
        let mut all = self.args;
        all.extend(self.env);
        all
    }
}

impl Dockerfile {
    /// The variables instruction `index` sees (with values; declared-but-unset ones are
    /// absent), given build-arg overrides. Before the first `FROM`: the global `ARG`s.
    pub fn variables_at(
        &self,
        index: usize,
        build_args: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let globals = global_scope(self, build_args);
        let Some(stage) = self.stage_of(index) else {
            return globals.into_iter().filter_map(|(k, a)| a.value.map(|v| (k, v))).collect();
        };
        let resolved = self.resolve_froms(build_args);
        self.stage_scope(stage, index, build_args, &globals, &resolved).merged()
    }

    /// The scope at `until` in `stage_index`, with the `ENV`s of its parent stages.
    fn stage_scope(
        &self,
        stage_index: usize,
        until: usize,
        build_args: &BTreeMap<String, String>,
        globals: &BTreeMap<String, super::ArgUse>,
        resolved: &[super::ResolvedFrom],
    ) -> Scope {
        // The chain of parent stages, nearest first; each parent comes earlier in the
        // file, so the walk ends (and no recursion depth depends on the input).
        let mut chain = vec![stage_index];
        while let Some(Base::Stage(parent)) =
            chain.last().and_then(|&s| resolved.get(s)).map(|r| &r.base)
        {
            if chain.last().is_some_and(|&s| *parent >= s) {
                break;
            }
            chain.push(*parent);
        }
        let mut env = BTreeMap::new();
        let mut scope = Scope::default();
        for &stage in chain.iter().rev() {
            let end = if stage == stage_index { until } else { usize::MAX };
            scope = self.walk_stage(stage, end, build_args, globals, std::mem::take(&mut env));
            env = scope.env.clone();
        }
        scope
    }

    /// Applies the `ARG`s and `ENV`s of one stage up to `until`, on top of inherited `ENV`s.
    fn walk_stage(
        &self,
        stage_index: usize,
        until: usize,
        build_args: &BTreeMap<String, String>,
        globals: &BTreeMap<String, super::ArgUse>,
        env: BTreeMap<String, String>,
    ) -> Scope {
        let mut scope = Scope { args: BTreeMap::new(), env };
        let Some(stage) = self.stages.get(stage_index) else { return scope };
        let escape = self.directives.escape;
        let end = until.min(stage.end_index).min(self.instructions.len());
        for instruction in self.instructions.get(stage.instruction_index + 1..end).unwrap_or(&[]) {
            let is_env = match instruction.keyword.as_str() {
                "ENV" => true,
                "ARG" => false,
                _ => continue,
            };
            for (name, value, _) in instruction.key_values() {
                let lookup = |n: &str| scope.get(n);
                let expanded =
                    value.map(|v| expand(&v, escape, &lookup).map(|e| e.value).unwrap_or(v));
                if is_env {
                    scope.env.insert(name, expanded.unwrap_or_default());
                    continue;
                }
                let global = globals.get(&name).and_then(|a| a.value.clone());
                match build_args.get(&name).cloned().or(expanded).or(global) {
                    Some(value) => scope.args.insert(name, value),
                    None => scope.args.remove(&name),
                };
            }
        }
        scope
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn stage_scopes_follow_docker() {
        let d = parse(concat!(
            "ARG VERSION=1.0\n",
            "ARG UNUSED=x\n",
            "FROM a AS base\n",
            "ARG VERSION\n",
            "ENV HOME_DIR=/home/$VERSION\n",
            "ARG LOCAL=l\n",
            "RUN one\n",
            "FROM base AS child\n",
            "ARG LOCAL\n",
            "RUN two\n",
        ));
        let vars = |index: usize, overrides: &[(&str, &str)]| {
            let overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            d.variables_at(index, &overrides).into_iter().collect::<Vec<_>>()
        };
        let s = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            vars(6, &[]),
            vec![s("HOME_DIR", "/home/1.0"), s("LOCAL", "l"), s("VERSION", "1.0")]
        );
        assert_eq!(vars(6, &[("VERSION", "2")])[2], s("VERSION", "2"));
        assert_eq!(vars(9, &[]), vec![s("HOME_DIR", "/home/1.0")]);
        assert_eq!(vars(9, &[("LOCAL", "o")]), vec![s("HOME_DIR", "/home/1.0"), s("LOCAL", "o")]);
        assert_eq!(vars(0, &[]), vec![s("UNUSED", "x"), s("VERSION", "1.0")]);
    }
}
