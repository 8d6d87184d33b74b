#!/usr/bin/env bash
# End-to-end: what `hearth run` takes from the store and the policy.
# A Modelfile's PARAMETER/SYSTEM lines become the run's defaults (flags
# still win); a load-time policy that requires signatures refuses an
# unsigned model with a readable report, before the model is parsed, and
# lets the same model run once it is signed by a trusted key.
# One line per check: PASS name / FAIL name: why / SKIP name: why.
set -u
H=${HEARTH_BIN:?}
SH=${HEARTH_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export HEARTH_HOME=$T/home HEARTH_OFFLINE=1
unset HEARTH_POLICY

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

S=$SH/models/stories260K.gguf
if [ ! -f "$S" ]; then
	skip run_settings "no $S"
	exit 0
fi
cp "$S" "$T/story.gguf"

# --- Modelfile parameters become defaults ---
cat >"$T/Modelfile" <<EOF
FROM $T/story.gguf
PARAMETER temperature 0
PARAMETER num_predict 7
PARAMETER stop "little"
EOF
"$H" create story-short -f "$T/Modelfile" >/dev/null 2>"$T/e" || fail create "$(cat "$T/e")"
"$H" run story-short "Once upon a time" >"$T/a" 2>"$T/e"
"$H" run story-short "Once upon a time" >"$T/b" 2>>"$T/e"
"$H" run "$T/story.gguf" "Once upon a time" --temperature 0 -n 7 >"$T/c" 2>>"$T/e"
# greedy (the same text twice), cut by the stop string before "little",
# which the plain greedy run of 7 tokens reaches
if cmp -s "$T/a" "$T/b" && ! grep -q little "$T/a" && [ "$(wc -w <"$T/a")" -ge 2 ] &&
	grep -q little "$T/c"; then pass modelfile_params
else fail modelfile_params "a=[$(cat "$T/a")] c=[$(cat "$T/c")] $(cat "$T/e")"; fi
# flags win over the model's parameters
"$H" run story-short "Once upon a time" -n 30 --stop "zzz" >"$T/d" 2>"$T/e"
if [ "$(wc -w <"$T/d")" -gt 7 ] && grep -q little "$T/d"; then pass flags_override_params
else fail flags_override_params "[$(cat "$T/d")] $(cat "$T/e")"; fi

# --- the load-time policy ---
"$H" keygen -o "$T/keys" --name alice >/dev/null 2>"$T/e" || fail keygen "$(cat "$T/e")"
cat >"$T/policy.json" <<EOF
{ "version": 1, "trusted_keys": ["keys/alice.pub"], "require_signature": true }
EOF
export HEARTH_POLICY=$T/policy.json
if "$H" run "$T/story.gguf" "Once upon a time" -n 5 >"$T/o" 2>"$T/e"; then
	fail policy_refuses_unsigned "ran: $(cat "$T/o")"
elif grep -q "refused by policy" "$T/e" && grep -qi "signed record" "$T/e"; then
	pass policy_refuses_unsigned
else fail policy_refuses_unsigned "$(cat "$T/e")"; fi
if "$H" generate "$T/story.gguf" -p "Once" -n 3 --json >"$T/o" 2>"$T/e"; then
	fail policy_refuses_generate "ran"
else pass policy_refuses_generate; fi
"$H" sign "$T/story.gguf" --key "$T/keys/alice.key" --license MIT >/dev/null 2>"$T/e" ||
	fail sign "$(cat "$T/e")"
if "$H" run "$T/story.gguf" "Once upon a time" -n 5 >"$T/o" 2>"$T/e" && [ -s "$T/o" ]; then
	pass policy_allows_signed
else fail policy_allows_signed "$(cat "$T/e")"; fi
# a signed file whose weights were changed afterwards is refused
cp "$T/story.gguf" "$T/tampered.gguf"
cp -r "$T/story.gguf.hearth-prov" "$T/tampered.gguf.hearth-prov" 2>/dev/null
size=$(stat -c %s "$T/tampered.gguf")
printf '\x5a' | dd of="$T/tampered.gguf" bs=1 seek=$((size - 100)) conv=notrunc status=none
if "$H" run "$T/tampered.gguf" "Once" -n 3 >"$T/o" 2>"$T/e"; then
	fail policy_refuses_tampered "ran"
elif grep -q "refused by policy" "$T/e"; then pass policy_refuses_tampered
else fail policy_refuses_tampered "$(cat "$T/e")"; fi
unset HEARTH_POLICY
if "$H" run "$T/tampered.gguf" "Once" -n 3 >"$T/o" 2>"$T/e"; then pass no_policy_no_check
else fail no_policy_no_check "$(cat "$T/e")"; fi
exit 0
