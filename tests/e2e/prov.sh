#!/usr/bin/env bash
# End-to-end tests of genealogy: `hearth id`, `lineage`, `family`,
# `keygen`, `sign`, `verify`, `sbom` and `policy check` (the call run,
# serve and pull make at load time). Models are built here from
# ../shared/models/stories260K.gguf with `hearth quantize` and `mkmodel`.
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

BASE_SRC=$SH/models/stories260K.gguf
if [ ! -f "$BASE_SRC" ]; then
	skip prov_e2e "no $BASE_SRC"
	exit 0
fi
cp "$BASE_SRC" "$T/base.gguf"
B=$T/base.gguf

# flip one byte of a file at an offset
poke() { printf '\x5a' | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

# --- id ---
"$H" id "$B" --json >"$T/id1" 2>"$T/e"
"$H" id "$B" >"$T/id2" 2>>"$T/e"
ID=$(sed -n 's/.*"model_id":[[:space:]]*"\(hmid1:[0-9a-f]*\)".*/\1/p' "$T/id1")
if [ ${#ID} -eq 70 ] && grep -q "$ID" "$T/id2" && grep -q "hfp1:" "$T/id2"; then pass id_cli
else fail id_cli "$(cat "$T/e" "$T/id1" | head -5)"; fi

# --- quantized children, an unrelated model, lineage and family ---
"$H" quantize -q "$B" "$T/q8.gguf" Q8_0 2>"$T/e" && "$H" quantize -q "$B" "$T/q4.gguf" Q4_0 2>>"$T/e"
"$H" mkmodel --type F32 --seed 1 -o "$T/r1.gguf" 2>>"$T/e"
"$H" mkmodel --type F32 --seed 2 -o "$T/r2.gguf" 2>>"$T/e"
"$H" lineage "$B" "$T/q4.gguf" --json >"$T/o" 2>"$T/e"
if grep -q '"related":[[:space:]]*true' "$T/o" && grep -q '"relation":[[:space:]]*"quantized"' "$T/o" &&
	grep -q '"suspicious":[[:space:]]*\[\]' "$T/o"; then pass lineage_quantized
else fail lineage_quantized "$(cat "$T/e" "$T/o" | head -20)"; fi
"$H" lineage "$T/r1.gguf" "$T/r2.gguf" --json >"$T/o" 2>"$T/e"
if grep -q '"related":[[:space:]]*false' "$T/o" && grep -q '"relation":[[:space:]]*"unrelated"' "$T/o"; then
	pass lineage_unrelated
else fail lineage_unrelated "$(cat "$T/e" "$T/o" | head -20)"; fi
"$H" lineage "$B" "$T/q8.gguf" >"$T/o" 2>"$T/e"
if grep -q "^relation   quantized" "$T/o"; then pass lineage_human
else fail lineage_human "$(cat "$T/e" "$T/o" | head)"; fi
"$H" family "$T/q4.gguf" "$B" "$T/r1.gguf" "$T/q8.gguf" >"$T/o" 2>"$T/e"
if grep -q "^base.gguf" "$T/o" && grep -q "q4.gguf  quantized" "$T/o" &&
	grep -q "q8.gguf  quantized" "$T/o" && grep -q "^r1.gguf.*no relation" "$T/o"; then
	pass family_tree
else fail family_tree "$(cat "$T/e" "$T/o")"; fi

# --- keys and signatures ---
"$H" keygen -o "$T/keys" --name alice >/dev/null 2>"$T/e"
"$H" keygen -o "$T/bobkeys" --name bob >/dev/null 2>>"$T/e"
"$H" keygen -o "$T/oldkeys" --name old --expires 2000-01-01 >/dev/null 2>>"$T/e"
if [ -f "$T/keys/alice.key" ] && [ -f "$T/keys/alice.pub" ] && [ -f "$T/keys/alice.pub.pem" ] &&
	[ "$(stat -c %a "$T/keys/alice.key")" = 600 ]; then pass keygen
else fail keygen "$(cat "$T/e"; ls -l "$T/keys")"; fi
if "$H" keygen -o "$T/keys" --name alice >/dev/null 2>&1; then fail keygen_no_clobber "overwrote a key"
else pass keygen_no_clobber; fi

DS="https://huggingface.co/datasets/roneneldan/TinyStories=sha256:$(printf '%064d' 0 | tr 0 a),license=CDLA-Sharing-1.0"
if "$H" sign "$B" --key "$T/keys/alice.key" --license MIT --dataset "$DS" >"$T/o" 2>"$T/e" &&
	ls "$B.hearth-prov/"*.dsse.json >/dev/null 2>&1 && [ -f "$B.hearth-prov/model.sig" ]; then
	pass sign
else fail sign "$(cat "$T/e" "$T/o")"; fi

"$H" verify "$B" --key "$T/keys/alice.pub" >"$T/o" 2>"$T/e"; rc=$?
if [ $rc = 0 ] && grep -q "allowed" "$T/o"; then pass verify_ok
else fail verify_ok "rc $rc $(cat "$T/e" "$T/o")"; fi
"$H" verify "$B" --key "$T/keys/alice.pub.pem" --oms >"$T/o" 2>"$T/e"; rc=$?
if [ $rc = 0 ] && grep -q "OMS manifest" "$T/o"; then pass verify_oms
else fail verify_oms "rc $rc $(cat "$T/e" "$T/o")"; fi

# expect_refusal NAME REASON-TEXT verify-args...
expect_refusal() {
	local name=$1 want=$2
	shift 2
	"$H" verify "$@" >"$T/o" 2>"$T/e"
	local rc=$?
	if [ $rc = 1 ] && grep -q "^Reason: $want" "$T/o"; then pass "$name"
	else fail "$name" "rc $rc, wanted '$want': $(grep -E 'Reason|NO' "$T/o" | head -3) $(cat "$T/e")"; fi
}
expect_refusal verify_wrong_key "signed by another key" "$B" --key "$T/bobkeys/bob.pub"
expect_refusal verify_untrusted_key "untrusted key" "$B" --trusted "$T/bobkeys"

# tampered weights: a byte of the last tensor's data
cp "$B" "$T/tw.gguf"; cp -r "$B.hearth-prov" "$T/tw.gguf.hearth-prov"
poke "$T/tw.gguf" $(( $(stat -c %s "$T/tw.gguf") - 100 ))
expect_refusal verify_tampered_weights "weights changed" "$T/tw.gguf" --key "$T/keys/alice.pub"

# tampered metadata: the value of general.name ("llama" -> "Zlama")
cp "$B" "$T/tm.gguf"; cp -r "$B.hearth-prov" "$T/tm.gguf.hearth-prov"
off=$(grep -obUa "general.name" "$T/tm.gguf" | head -1 | cut -d: -f1)
if [ -n "$off" ]; then
	poke "$T/tm.gguf" $(( off + 12 + 4 + 8 ))
	expect_refusal verify_tampered_metadata "metadata changed" "$T/tm.gguf" --key "$T/keys/alice.pub"
else skip verify_tampered_metadata "general.name not found"; fi

# tampered record: the first character of the signed payload
cp "$B" "$T/tr.gguf"; cp -r "$B.hearth-prov" "$T/tr.gguf.hearth-prov"
for f in "$T/tr.gguf.hearth-prov/"*.dsse.json; do
	sed -i 's/"payload":[[:space:]]*"e/"payload": "f/' "$f"
done
expect_refusal verify_tampered_record "bad signature" "$T/tr.gguf" --key "$T/keys/alice.pub"

# expired record, expired key
cp "$B" "$T/ex.gguf"
"$H" sign "$T/ex.gguf" --key "$T/keys/alice.key" --expires 2000-01-01 --no-oms >/dev/null 2>&1
expect_refusal verify_expired_record "record expired" "$T/ex.gguf" --key "$T/keys/alice.pub"
cp "$B" "$T/ek.gguf"
"$H" sign "$T/ek.gguf" --key "$T/oldkeys/old.key" --no-oms >/dev/null 2>&1
expect_refusal verify_expired_key "key expired" "$T/ek.gguf" --key "$T/oldkeys/old.pub"

# a chain: the Q8_0 child signed by bob with the base file as parent
mkdir -p "$T/trusted"
cp "$T/keys/alice.pub" "$T/bobkeys/bob.pub" "$T/trusted/"
if "$H" sign "$T/q8.gguf" --key "$T/bobkeys/bob.key" --license MIT --parent "$B" >"$T/o" 2>"$T/e" &&
	grep -q "parent   $ID (quantized)" "$T/o" &&
	"$H" verify "$T/q8.gguf" --trusted "$T/trusted" >"$T/o2" 2>>"$T/e"; then
	pass sign_chain
else fail sign_chain "$(cat "$T/e" "$T/o" "$T/o2" 2>/dev/null | head -20)"; fi
if "$H" sign "$T/r1.gguf" --key "$T/bobkeys/bob.key" --parent "$B" >"$T/o" 2>"$T/e"; then
	fail sign_refuses_false_parent "signed an unrelated parent"
elif grep -q "no relation" "$T/e"; then pass sign_refuses_false_parent
else fail sign_refuses_false_parent "$(cat "$T/e")"; fi
# ... but a parent given by ID is taken as claimed (the policy checks it)
"$H" sign "$T/r1.gguf" --key "$T/bobkeys/bob.key" --license MIT --parent "$ID" --relation finetune >/dev/null 2>&1

# --- policy ---
PUBA=$(sed -n 's/.*"public":[[:space:]]*"\([^"]*\)".*/\1/p' "$T/keys/alice.pub")
cat >"$T/policy.json" <<EOF
{ "version": 1,
  "trusted_keys": ["keys/alice.pub", {"public": "$PUBA", "name": "alice-inline"}],
  "trusted_key_dirs": ["bobkeys"],
  "require_signature": true,
  "allowed_licenses": ["MIT", "CDLA-Sharing-1.0", "Apache-2.0 WITH LLVM-exception"],
  "trusted_roots": ["$ID"],
  "verify_parents": true }
EOF
# policy_check NAME WANT(allowed|REASON) MODEL [POLICY]
policy_check() {
	local name=$1 want=$2 model=$3 pol=${4:-$T/policy.json}
	"$H" policy check "$model" --policy "$pol" >"$T/o" 2>"$T/e"
	local rc=$?
	if [ "$want" = allowed ]; then
		if [ $rc = 0 ] && grep -q ": allowed" "$T/o"; then pass "$name"
		else fail "$name" "rc $rc $(cat "$T/o" "$T/e" | head -30)"; fi
	elif [ $rc = 1 ] && grep -q "^Reason: $want" "$T/o"; then pass "$name"
	else fail "$name" "rc $rc, wanted '$want': $(cat "$T/o" "$T/e" | head -30)"; fi
}
policy_check policy_root_allowed allowed "$B"
policy_check policy_chain_allowed allowed "$T/q8.gguf"
policy_check policy_unsigned "no signed record" "$T/q4.gguf"
policy_check policy_false_parent "claimed parent not supported" "$T/r1.gguf"
policy_check policy_tampered "weights changed" "$T/tw.gguf"
sed 's/"MIT", //' "$T/policy.json" >"$T/policy-nomit.json"
policy_check policy_license "license not allowed" "$B" "$T/policy-nomit.json"
# verification before parsing: garbage that claims to be a model
printf 'GGUF\003\000\000\000garbage' >"$T/junk.gguf"
policy_check policy_junk_refused_unparsed "no signed record" "$T/junk.gguf"
# the default policy location, and no policy at all
HEARTH_POLICY=$T/policy.json "$H" policy check "$T/q4.gguf" >"$T/o" 2>&1
rc1=$?
"$H" policy check "$T/q4.gguf" >"$T/o2" 2>&1
rc2=$?
if [ $rc1 = 1 ] && [ $rc2 = 0 ] && grep -q "no policy" "$T/o2"; then pass policy_default_location
else fail policy_default_location "rc $rc1/$rc2 $(cat "$T/o" "$T/o2" | head)"; fi
"$H" policy check "$T/q8.gguf" --policy "$T/policy.json" --json >"$T/o" 2>&1
if grep -q '"allowed":[[:space:]]*true' "$T/o" && grep -q '"verified"' "$T/o"; then pass policy_json
else fail policy_json "$(head -20 "$T/o")"; fi

# --- SBOM ---
if "$H" sbom "$T/q8.gguf" --spdx --trusted "$T/trusted" >"$T/s.json" 2>"$T/e" &&
	grep -q '"ai_AIPackage"' "$T/s.json" && grep -q '"ancestorOf"' "$T/s.json" &&
	grep -q "$ID" "$T/s.json" && grep -q "spdx.org/rdf/3.0.1" "$T/s.json"; then
	pass sbom_spdx
else fail sbom_spdx "$(cat "$T/e"; head -20 "$T/s.json")"; fi
if "$H" sbom "$B" --cyclonedx -o "$T/c.json" --trusted "$T/trusted" 2>"$T/e" &&
	grep -q '"CycloneDX"' "$T/c.json" && grep -q 'machine-learning-model' "$T/c.json" &&
	grep -q 'TinyStories' "$T/c.json" && grep -q 'CDLA-Sharing-1.0' "$T/c.json"; then
	pass sbom_cyclonedx
else fail sbom_cyclonedx "$(cat "$T/e"; head -20 "$T/c.json")"; fi
if command -v python3 >/dev/null; then
	if python3 -m json.tool "$T/s.json" >/dev/null && python3 -m json.tool "$T/c.json" >/dev/null; then
		pass sbom_json_valid
	else fail sbom_json_valid "not JSON"; fi
fi

# usage errors exit 2
"$H" lineage "$B" >/dev/null 2>&1; a=$?
"$H" sign "$B" >/dev/null 2>&1; b=$?
"$H" verify >/dev/null 2>&1; c=$?
if [ $a = 2 ] && [ $b = 2 ] && [ $c = 2 ]; then pass prov_usage
else fail prov_usage "exit codes $a $b $c"; fi
