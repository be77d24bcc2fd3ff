# corpus-label-schema: homepage=url created=rfc3339 license=spdx revision=hash version=semver contact=email
FROM python:3.12-slim@sha256:f3fa41d74a768c2fce8016b98c191ae8c1bacd8f1152870a3f9f87d350920b7c
# Negative: every value of its type.
LABEL homepage="https://example.org/app?x=1#top" created="2024-05-01T12:00:00Z" license="Apache-2.0" revision="0123abc" version="1.2.3-rc.1+build.5" contact="ops@example.org"
LABEL homepage="mailto:ops@example.org" created="2024-05-01t12:00:00.25+02:00" license="MIT" revision="0123456789abcdef0123456789abcdef01234567" version="10.0.0" contact="a.b+c@[192.0.2.1]"
# expect: DL3052
LABEL homepage="example.org"
# expect: DL3052
LABEL homepage="https://example.org/a b"
# expect: DL3053
LABEL created="2024-05-01"
# expect: DL3053
LABEL created="2024-02-30T12:00:00Z"
# expect: DL3054
LABEL license="mit"
# expect: DL3054
LABEL license="GPL-2.0+"
# expect: DL3055
LABEL revision="0123ABC"
# expect: DL3055
LABEL revision="0123abcd"
# expect: DL3056
LABEL version="v1.2.3"
# expect: DL3056
LABEL version="1.2"
# expect: DL3058
LABEL contact="ops"
# expect: DL3058
LABEL contact="ops..team@example.org"
# Several bad values in one LABEL: one finding per label.
# expect: DL3052, DL3056
LABEL homepage="x" version="x"
USER 1000
HEALTHCHECK CMD ["true"]
