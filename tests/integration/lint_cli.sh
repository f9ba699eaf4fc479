#!/usr/bin/env bash
# The lint through the CLI, for CI: `plan lint --format sarif` is a SARIF
# 2.1.0 log that a JSON-schema validator (python3-jsonschema) accepts,
# `--format github` prints workflow annotations, and `skein lint FILE.sql`
# lints bare files with the same rules and documented exit codes. SQL
# newer than the parser says which PostgreSQL it understands.
#
# Each log is validated against two schemas: the OASIS SARIF 2.1.0 schema
# (sarif-2.1.0-rtm.5.json, draft-04) as Microsoft's @microsoft/jest-sarif
# package ships it — no Debian package does, so it comes from the npm
# registry, once per build tree — and a stricter one written below, which
# also refuses property names that SARIF does not define for the objects
# skein writes.
set -euo pipefail
. "${SKEIN_SRC:?}/tests/lib/harness.sh"
. "$SKEIN_SRC/tests/lib/deployment.sh"

sk_setup lint_cli
skein=$SKEIN_BIN/skein
sk_keys
for r in af in ksa; do sk_region "$r" "$r"; done
plans=$SK_WORK/plans
regions=$SK_WORK/regions

# run_rc VAR_OUT VAR_RC CMD...: run, keeping stdout and the status
# (stderr goes to VAR_OUT.err in the work dir).
run_rc() {
	local __o=$1 __r=$2 __out __rc=0
	shift 2
	__out=$("$@" 2>"$SK_WORK/$__o.err") || __rc=$?
	printf -v "$__o" '%s' "$__out"
	printf -v "$__r" '%s' "$__rc"
}

python3 -c 'import jsonschema' 2>/dev/null ||
	sk_fail "python3-jsonschema is missing (tests/lib/install-deps.sh installs it)"

official_dir=$SKEIN_BIN/sarif-schema
official=$official_dir/package/lib/schemas/sarif-2.1.0-rtm.5.json
if [[ ! -s "$official" ]]; then
	command -v npm >/dev/null || sk_fail "npm is missing: it fetches the OASIS SARIF schema"
	mkdir -p "$official_dir"
	(cd "$official_dir" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null &&
		tar xzf microsoft-jest-sarif-1.0.0-beta.0.tgz) ||
		sk_fail "could not fetch the SARIF 2.1.0 schema (npm pack @microsoft/jest-sarif)"
fi
grep -q '"Static Analysis Results Format (SARIF) Version 2.1.0-rtm.5 JSON Schema"' "$official" ||
	sk_fail "$official is not the SARIF 2.1.0 schema"

cat >"$SK_WORK/sarif-2.1.0-minimal.json" <<'EOF'
{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "SARIF 2.1.0, the parts skein writes",
  "type": "object",
  "required": ["version", "runs"],
  "additionalProperties": false,
  "properties": {
    "$schema": {"type": "string"},
    "version": {"const": "2.1.0"},
    "runs": {"type": "array", "items": {"$ref": "#/definitions/run"}},
    "inlineExternalProperties": {"type": "array"},
    "properties": {"type": "object"}
  },
  "definitions": {
    "message": {
      "type": "object",
      "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
      "properties": {"text": {"type": "string"}, "id": {"type": "string"}}
    },
    "multiformat": {
      "type": "object",
      "required": ["text"],
      "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}}
    },
    "level": {"enum": ["none", "note", "warning", "error"]},
    "run": {
      "type": "object",
      "required": ["tool"],
      "properties": {
        "tool": {
          "type": "object",
          "required": ["driver"],
          "properties": {"driver": {"$ref": "#/definitions/component"}}
        },
        "results": {"type": "array", "items": {"$ref": "#/definitions/result"}}
      }
    },
    "component": {
      "type": "object",
      "required": ["name"],
      "additionalProperties": false,
      "properties": {
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "string"},
        "semanticVersion": {"type": "string"},
        "informationUri": {"type": "string"},
        "organization": {"type": "string"},
        "fullName": {"type": "string"},
        "rules": {"type": "array", "items": {"$ref": "#/definitions/rule"}},
        "properties": {"type": "object"}
      }
    },
    "rule": {
      "type": "object",
      "required": ["id"],
      "additionalProperties": false,
      "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "shortDescription": {"$ref": "#/definitions/multiformat"},
        "fullDescription": {"$ref": "#/definitions/multiformat"},
        "help": {"$ref": "#/definitions/multiformat"},
        "helpUri": {"type": "string"},
        "defaultConfiguration": {
          "type": "object",
          "properties": {
            "enabled": {"type": "boolean"},
            "level": {"$ref": "#/definitions/level"},
            "rank": {"type": "number", "minimum": -1, "maximum": 100}
          }
        },
        "properties": {"type": "object"}
      }
    },
    "result": {
      "type": "object",
      "required": ["message"],
      "additionalProperties": false,
      "properties": {
        "ruleId": {"type": "string"},
        "ruleIndex": {"type": "integer", "minimum": -1},
        "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
        "level": {"$ref": "#/definitions/level"},
        "message": {"$ref": "#/definitions/message"},
        "locations": {"type": "array", "items": {"$ref": "#/definitions/location"}},
        "suppressions": {
          "type": "array",
          "items": {
            "type": "object",
            "required": ["kind"],
            "additionalProperties": false,
            "properties": {
              "kind": {"enum": ["inSource", "external"]},
              "status": {"enum": ["accepted", "underReview", "rejected"]},
              "justification": {"type": "string"},
              "guid": {"type": "string"},
              "properties": {"type": "object"}
            }
          }
        },
        "properties": {"type": "object"}
      }
    },
    "location": {
      "type": "object",
      "additionalProperties": false,
      "properties": {
        "id": {"type": "integer"},
        "physicalLocation": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "artifactLocation": {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "uri": {"type": "string", "pattern": "^[A-Za-z0-9._~/%:-]*$"},
                "uriBaseId": {"type": "string"},
                "index": {"type": "integer"}
              }
            },
            "region": {
              "type": "object",
              "additionalProperties": false,
              "properties": {
                "startLine": {"type": "integer", "minimum": 1},
                "startColumn": {"type": "integer", "minimum": 1},
                "endLine": {"type": "integer", "minimum": 1},
                "endColumn": {"type": "integer", "minimum": 1}
              }
            }
          }
        },
        "message": {"$ref": "#/definitions/message"}
      }
    }
  }
}
EOF

# validate FILE: the SARIF log against the schema, and the references
# the schema cannot express (ruleIndex names the rule ruleId names).
validate() {
	python3 - "$SK_WORK/sarif-2.1.0-minimal.json" "$1" "$official" <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
oasis = json.load(open(sys.argv[3]))
jsonschema.Draft4Validator.check_schema(oasis)
jsonschema.Draft4Validator(oasis).validate(log)
jsonschema.Draft7Validator.check_schema(schema)
jsonschema.Draft7Validator(schema).validate(log)
for run in log["runs"]:
    rules = run["tool"]["driver"]["rules"]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"], r
print("valid SARIF 2.1.0 with", sum(len(r["results"]) for r in log["runs"]), "results")
EOF
}

# A plan with an error, a warning and a waived error, in a directory
# whose name needs percent-encoding in a URI.
sk_write_plan "$plans/ci plan" ciplan 1h "$SK_TWO_PHASES" \
	"0001_mix=ALTER TABLE orders ADD CONSTRAINT qty_pos CHECK (qty > 0) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT qty_pos;
ALTER TABLE orders ALTER COLUMN note DROP NOT NULL;" \
	"0002_drop=ALTER TABLE clients DROP COLUMN legacy;"
# Each step gets a revert script, so that no-revert stays quiet.
for step in 0001_mix 0002_drop; do
	echo "SELECT 1;" >"$plans/ci plan/$step.revert.sql"
	sed -i "s|^    sql: $step.sql\$|&\n    revert: $step.revert.sql|" "$plans/ci plan/plan.yaml"
done
printf '    waive:\n      - rule: drop-column\n        reason: "unused, 50%% sure: checked"\n' \
	>>"$plans/ci plan/plan.yaml"

run_rc out rc "$skein" plan lint "$plans/ci plan" --regions "$regions" --format sarif
sk_assert_eq 1 "$rc" "plan lint --format sarif exits 1 on an unwaived error"
printf '%s\n' "$out" >"$SK_WORK/lint.sarif"
vout=$(validate "$SK_WORK/lint.sarif") || sk_fail "the SARIF log does not validate: $vout"
sk_assert_contains "$vout" "valid SARIF 2.1.0 with 3 results" "three findings, three results"
sk_assert_contains "$out" '"ruleId": "validate-in-same-transaction"' "the error is a result"
sk_assert_contains "$out" '"kind": "external"' "the waiver is a suppression"
sk_assert_contains "$out" '"justification": "unused, 50% sure: checked"' "with its reason"
sk_assert_contains "$out" 'ci%20plan/0001_mix.sql' "the path is a URI reference"
# The validator is not a rubber stamp: a broken log is refused.
python3 - "$SK_WORK/lint.sarif" "$SK_WORK/broken.sarif" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
log["runs"][0]["results"][0]["level"] = "fatal"
json.dump(log, open(sys.argv[2], "w"))
EOF
if validate "$SK_WORK/broken.sarif" >/dev/null 2>&1; then
	sk_fail "a result with level \"fatal\" passed the SARIF check"
fi

run_rc out rc "$skein" plan lint "$plans/ci plan" --regions "$regions" --format github
sk_assert_eq 1 "$rc" "plan lint --format github exit status"
sk_assert_contains "$out" "::error file=$plans/ci plan/0001_mix.sql,line=2,title=skein lint validate-in-same-transaction::validates constraint qty_pos of orders" \
	"an error annotation with file, line and rule"
sk_assert_contains "$out" "::warning file=$plans/ci plan/0001_mix.sql,line=3,title=skein lint drop-not-null::" \
	"a warning annotation"
sk_assert_contains "$out" "::notice file=$plans/ci plan/0002_drop.sql,line=1,title=skein lint drop-column (waived)::" \
	"a waived error is a notice"
sk_assert_contains "$out" "%0Awaived (reason: unused, 50%25 sure: checked)" "escaped as the runner decodes it"
[[ $(printf '%s\n' "$out" | grep -c '^::') == 3 ]] || sk_fail "one line per finding: $out"

run_rc out rc "$skein" plan lint "$plans/ci plan" --regions "$regions" --format yaml
sk_assert_eq 2 "$rc" "an unknown format is a usage error"
run_rc out rc "$skein" plan lint "$plans/ci plan" --regions "$regions" --json
sk_assert_contains "$out" '"blocking": 1' "--json still works"

# skein lint on bare files: the same rules, files in order.
mkdir -p "$SK_WORK/sql"
printf 'CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY, at timestamptz);\n' \
	>"$SK_WORK/sql/0001_audit.sql"
printf 'CREATE INDEX audit_at ON audit (at);\n' >"$SK_WORK/sql/0002_index.sql"
printf -- '-- adds a key\nALTER TABLE orders ADD COLUMN region text NOT NULL;\n' \
	>"$SK_WORK/sql/0003_orders.sql"
run_rc out rc "$skein" lint "$SK_WORK/sql/0001_audit.sql" "$SK_WORK/sql/0002_index.sql"
sk_assert_eq 0 "$rc" "skein lint: an index on a table an earlier file created is fine"
sk_assert_contains "$out" "lint: no findings" "and says so"
run_rc out rc "$skein" lint "$SK_WORK/sql/0002_index.sql"
sk_assert_eq 1 "$rc" "alone, the index is on an existing table"
sk_assert_contains "$out" "$SK_WORK/sql/0002_index.sql:1: error index-not-concurrent:" "named at its line"
run_rc out rc "$skein" lint "$SK_WORK/sql/0003_orders.sql"
sk_assert_eq 1 "$rc" "skein lint exit status on an error"
sk_assert_contains "$out" "0003_orders.sql:2: error not-null-column-without-default: adds column region to orders NOT NULL without a default" \
	"the new rule fires on a bare file"
printf 'CREATE INDEX CONCURRENTLY IF NOT EXISTS o_r ON orders (region);\n' >"$SK_WORK/sql/0004_cic.sql"
run_rc out rc "$skein" lint "$SK_WORK/sql/0004_cic.sql"
sk_assert_eq 1 "$rc" "CREATE INDEX CONCURRENTLY needs --no-transaction"
sk_assert_contains "$out" "non-transactional-in-transaction" "and says why"
run_rc out rc "$skein" lint --no-transaction "$SK_WORK/sql/0004_cic.sql"
sk_assert_eq 0 "$rc" "with --no-transaction it is clean"
printf 'ALTER TABLE orders ADD COLUMN n int DEFAULT 0;\n' >"$SK_WORK/sql/0005_default.sql"
run_rc out rc "$skein" lint --server-version 10 "$SK_WORK/sql/0005_default.sql"
sk_assert_contains "$out" "rewrites the table before PostgreSQL 11 (preflight.server_version is 10)" \
	"--server-version makes the lint version-aware"
run_rc out rc "$skein" lint "$SK_WORK/sql/0005_default.sql"
sk_assert_contains "$out" "lint: no findings" "a constant default is cheap from 11"
run_rc out rc "$skein" lint --format sarif "$SK_WORK/sql/0003_orders.sql"
printf '%s\n' "$out" >"$SK_WORK/files.sarif"
vout=$(validate "$SK_WORK/files.sarif") || sk_fail "skein lint's SARIF does not validate: $vout"

# Newer syntax: the parser's PostgreSQL version and the escape.
printf 'SELECT 1;\nREPACK orders;\n' >"$SK_WORK/sql/0006_repack.sql"
run_rc out rc "$skein" lint "$SK_WORK/sql/0006_repack.sql"
sk_assert_eq 1 "$rc" "a syntax error fails skein lint"
err=$(cat "$SK_WORK/out.err")
sk_assert_contains "$err" "0006_repack.sql:2: syntax error at or near \"REPACK\"" "file and line"
sk_assert_contains "$err" "hint: skein reads SQL with the parser of PostgreSQL 15" "which parser"
sk_assert_contains "$err" "DO \$\$ BEGIN EXECUTE" "and the escape"
sk_write_plan "$plans/repack" repack 1h "$SK_TWO_PHASES" "0001_repack=REPACK orders;"
run_rc out rc "$skein" plan build "$plans/repack" -o "$plans/repack.plan" --regions "$regions"
sk_assert_eq 1 "$rc" "plan build refuses newer syntax"
sk_assert_contains "$(cat "$SK_WORK/out.err")" "hint: skein reads SQL with the parser of PostgreSQL 15" \
	"and says which PostgreSQL the parser reads"

# Usage and help.
run_rc out rc "$skein" lint --help
sk_assert_eq 0 "$rc" "skein lint --help"
sk_assert_contains "$out" "Exit status: 0 no error-severity finding" "the help documents the exit codes"
run_rc out rc "$skein" lint
sk_assert_eq 2 "$rc" "skein lint without a file"
run_rc out rc "$skein" lint --server-version fifteen "$SK_WORK/sql/0001_audit.sql"
sk_assert_eq 2 "$rc" "a bad --server-version"
run_rc out rc "$skein" lint "$SK_WORK/sql/missing.sql"
sk_assert_eq 1 "$rc" "a file that cannot be read"
run_rc out rc "$skein" lint --rules
sk_assert_eq 0 "$rc" "skein lint --rules"
for rule in validate-in-same-transaction drop-index-not-concurrent \
	detach-partition-not-concurrent not-null-column-without-default \
	drop-database alter-domain-constraint identifier-too-long \
	update-column-twice drop-not-null non-idempotent-without-transaction \
	create-domain-check enum-value-order prefer-text-over-char \
	prefer-text-over-varchar prefer-bigint prefer-identity prefer-timestamptz; do
	sk_assert_contains "$out" "$rule" "skein lint --rules lists $rule"
done
echo "PASS lint_cli"
