#!/usr/bin/env bash
# End-to-end: the load-time policy where models are served and moved, and
# provenance records travelling with models through the store.
#   - import keeps the records beside a file as layers; `sign NAME` adds
#     them to a store model (a new manifest); `show NAME` prints the store's
#     view; `verify NAME`, `policy check NAME` and `run NAME` use them
#   - serve: -m FILE refused at start-up; a store model refused with 403 and
#     the report, served once signed; /api/pull refused with 403, nothing
#     published
#   - docker-registry (the reference `distribution` server): a signed model
#     pulled into a second empty store keeps its records and verifies
#     there; unsigned and tampered ones are refused, nothing published
#   - export/pull oci: (tar and folder) keep the records
# One line per check: PASS name / FAIL name: why / SKIP name: why.
set -u
H=${HEARTH_BIN:?}
SH=${HEARTH_SHARED:-../shared}
T=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
unset HEARTH_POLICY HEARTH_REGISTRY_AUTH HEARTH_UPLOAD_CHUNK HEARTH_HOST
export HEARTH_HOME=$T/a HEARTH_OFFLINE=1

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
# the names a store lists
names() { HEARTH_HOME=$1 "$H" list 2>/dev/null | awk 'NR > 1 { print $1 }'; }
id_of() { HEARTH_HOME=$1 "$H" list 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }'; }

S=$SH/models/stories260K.gguf
if [ ! -f "$S" ]; then
	skip policy_integration "no $S"
	exit 0
fi
cp "$S" "$T/signed.gguf"
"$H" keygen -o "$T/keys" --name alice >/dev/null 2>"$T/e" || fail keygen "$(cat "$T/e")"
"$H" keygen -o "$T/other" --name mallory >/dev/null 2>>"$T/e"
"$H" sign "$T/signed.gguf" --key "$T/keys/alice.key" --license MIT >/dev/null 2>>"$T/e" ||
	fail sign_file "$(cat "$T/e")"
# the same model, one byte of metadata changed after signing, records kept
cp "$T/signed.gguf" "$T/tampered.gguf"
cp -r "$T/signed.gguf.hearth-prov" "$T/tampered.gguf.hearth-prov"
printf '\x5a' | dd of="$T/tampered.gguf" bs=1 seek=$(($(stat -c %s "$T/tampered.gguf") - 100)) \
	conv=notrunc status=none
# another model with no records at all
"$H" quantize -q "$T/signed.gguf" "$T/unsigned.gguf" Q8_0 2>>"$T/e" || fail quantize "$(cat "$T/e")"
cat >"$T/policy.json" <<EOF
{ "version": 1, "trusted_keys": ["keys/alice.pub"], "require_signature": true,
  "allowed_licenses": ["MIT", "Apache-2.0"] }
EOF

# --- import keeps records; show; verify, policy check and run by name ---
"$H" import "$T/signed.gguf" story >"$T/o" 2>"$T/e" &&
	"$H" import "$T/unsigned.gguf" plain >>"$T/o" 2>>"$T/e" &&
	"$H" import "$T/tampered.gguf" tampered >>"$T/o" 2>>"$T/e"
if grep -q "with its provenance records" "$T/o" &&
	"$H" verify story --key "$T/keys/alice.pub" >"$T/v" 2>"$T/e" && grep -q "story:latest: allowed" "$T/v"; then
	pass import_keeps_records
else fail import_keeps_records "$(cat "$T/o" "$T/e" "$T/v" 2>/dev/null | head -20)"; fi
"$H" show story >"$T/o" 2>"$T/e"
wid=$(sha256sum "$T/signed.gguf" | cut -d' ' -f1)
if grep -q "^Store" "$T/o" && grep -q "name  *story:latest" "$T/o" &&
	grep -q "id  *sha256:$(id_of "$HEARTH_HOME" story:latest)" "$T/o" &&
	grep -q "weights  *sha256:$wid (signed.gguf)" "$T/o" &&
	grep -q "provenance  *2 records: 1 signed statement, 1 OMS bundle" "$T/o" &&
	grep -q "signed by key $(sed -n 's/.*"keyid": *"\([0-9a-f]\{16\}\).*/\1/p' "$T/keys/alice.pub")" "$T/o" &&
	grep -q "^Model" "$T/o"; then pass show_store_view
else fail show_store_view "$(head -20 "$T/o") $(cat "$T/e")"; fi
cat >"$T/Modelfile" <<EOF
FROM plain
PARAMETER temperature 0.3
SYSTEM Be brief.
EOF
"$H" create plain-terse -f "$T/Modelfile" >/dev/null 2>"$T/e"
"$H" show plain-terse >"$T/o" 2>>"$T/e"
if grep -q "parameters  *temperature 0.3" "$T/o" && grep -q "system  *Be brief." "$T/o" &&
	grep -q "provenance  *none" "$T/o"; then pass show_store_settings
else fail show_store_settings "$(head -12 "$T/o") $(cat "$T/e")"; fi
if "$H" verify plain --key "$T/keys/alice.pub" >/dev/null 2>&1; then fail verify_unsigned_name "passed"
else pass verify_unsigned_name; fi
if HEARTH_POLICY=$T/policy.json "$H" policy check tampered >"$T/o" 2>"$T/e"; then
	fail policy_check_tampered_name "passed"
elif grep -q "REFUSED" "$T/o" && grep -qi "changed" "$T/o"; then pass policy_check_tampered_name
else fail policy_check_tampered_name "$(cat "$T/o" "$T/e")"; fi
if HEARTH_POLICY=$T/policy.json "$H" run story "Once upon a time" -n 4 >"$T/o" 2>"$T/e" && [ -s "$T/o" ] &&
	grep -q "as verified by the store" <(HEARTH_POLICY=$T/policy.json "$H" policy check story); then
	pass run_signed_name
else fail run_signed_name "$(cat "$T/e")"; fi
if HEARTH_POLICY=$T/policy.json "$H" run plain "Once" -n 3 >"$T/o" 2>"$T/e"; then
	fail run_refuses_unsigned_name "ran"
elif grep -q "plain.*REFUSED" "$T/e" && grep -q "refused by policy" "$T/e"; then
	pass run_refuses_unsigned_name
else fail run_refuses_unsigned_name "$(cat "$T/e")"; fi

# --- sign NAME: the records become layers of a new manifest ---
"$H" cp plain plain-signed >/dev/null 2>&1
id0=$(id_of "$HEARTH_HOME" plain-signed:latest)
"$H" sign plain-signed --key "$T/keys/alice.key" --license Apache-2.0 >"$T/o" 2>"$T/e"
id1=$(id_of "$HEARTH_HOME" plain-signed:latest)
if [ -n "$id1" ] && [ "$id0" != "$id1" ] && [ "$(id_of "$HEARTH_HOME" plain:latest)" = "$id0" ] &&
	"$H" verify plain-signed --key "$T/keys/alice.pub" >/dev/null 2>>"$T/e" &&
	HEARTH_POLICY=$T/policy.json "$H" run plain-signed "Once" -n 3 >/dev/null 2>>"$T/e" &&
	"$H" show plain-signed | grep -q "claims hmid1:.*license Apache-2.0" &&
	[ ! -e "$HEARTH_HOME/store/blobs/sha256/$(sha256sum "$T/unsigned.gguf" | cut -d' ' -f1).hearth-prov" ]; then
	pass sign_store_name
else fail sign_store_name "ids $id0 -> $id1: $(cat "$T/o" "$T/e")"; fi
# a key the policy does not trust changes nothing
"$H" cp plain plain-mallory >/dev/null 2>&1
"$H" sign plain-mallory --key "$T/other/mallory.key" --license MIT >/dev/null 2>&1
if HEARTH_POLICY=$T/policy.json "$H" policy check plain-mallory >"$T/o" 2>&1; then
	fail untrusted_signer_name "passed"
elif grep -qi "trusted" "$T/o"; then pass untrusted_signer_name
else fail untrusted_signer_name "$(cat "$T/o")"; fi
"$H" fsck >"$T/o" 2>&1 && grep -q clean "$T/o" && pass fsck_with_records || fail fsck_with_records "$(cat "$T/o")"

# --- export / pull oci: keep the records ---
"$H" export story "$T/story.tar" >/dev/null 2>"$T/e" && "$H" export plain-signed "$T/layout" >/dev/null 2>>"$T/e"
C=$T/c
if HEARTH_POLICY=$T/policy.json HEARTH_HOME=$C "$H" pull "oci:$T/story.tar" >/dev/null 2>>"$T/e" &&
	HEARTH_POLICY=$T/policy.json HEARTH_HOME=$C "$H" pull "oci:$T/layout" >/dev/null 2>>"$T/e" &&
	HEARTH_HOME=$C "$H" verify story --key "$T/keys/alice.pub" >/dev/null 2>>"$T/e" &&
	HEARTH_HOME=$C "$H" verify plain-signed --key "$T/keys/alice.pub" >/dev/null 2>>"$T/e" &&
	[ "$(id_of "$C" story:latest)" = "$(id_of "$HEARTH_HOME" story:latest)" ]; then
	pass export_pull_oci_keeps_records
else fail export_pull_oci_keeps_records "$(cat "$T/e")"; fi
"$H" export plain "$T/plain.tar" >/dev/null 2>&1
before=$(names "$C")
if HEARTH_POLICY=$T/policy.json HEARTH_HOME=$C "$H" pull "oci:$T/plain.tar" >/dev/null 2>"$T/e"; then
	fail pull_oci_refuses_unsigned "accepted"
elif [ "$before" != "$(names "$C")" ]; then fail pull_oci_refuses_unsigned "a name appeared"
elif grep -q "REFUSED" "$T/e" && grep -q "refused by policy" "$T/e"; then pass pull_oci_refuses_unsigned
else fail pull_oci_refuses_unsigned "$(cat "$T/e")"; fi

# ---------------------------------------------------------------- serve
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
if command -v curl >/dev/null; then
	# -m FILE the policy refuses: no server, the report says why
	if HEARTH_POLICY=$T/policy.json timeout 20 "$H" serve --port 0 -m "$T/unsigned.gguf" >"$T/o" 2>"$T/e"; then
		fail serve_refuses_file_at_start "started"
	elif grep -q "unsigned.gguf: REFUSED" "$T/e" && grep -q "refused by policy" "$T/e" &&
		! grep -q "listening on" "$T/e"; then pass serve_refuses_file_at_start
	else fail serve_refuses_file_at_start "$(cat "$T/e")"; fi
	SV=$T/sv
	HEARTH_HOME=$SV "$H" import "$T/unsigned.gguf" late >/dev/null 2>&1
	HEARTH_POLICY=$T/policy.json HEARTH_HOME=$SV "$H" serve --port 0 -m "$T/signed.gguf" >"$T/srv.out" 2>"$T/srv.log" &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 100); do
		grep -q 'listening on' "$T/srv.log" 2>/dev/null && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	SP=$(grep -o 'listening on http://[^ ]*' "$T/srv.log" | grep -o '[0-9]*$')
	U=http://127.0.0.1:${SP:-1}
	gen() { curl -s -o "$T/r" -w '%{http_code}' "$U/api/generate" \
		-d "{\"model\":\"$1\",\"prompt\":\"Once\",\"stream\":false,\"options\":{\"num_predict\":3}}"; }
	c=$(gen late)
	if [ "$c" = 403 ] && grep -q '"error":"refused by policy' "$T/r" &&
		grep -q '"report":{"model":"late:latest","allowed":false' "$T/r" &&
		grep -q '"failed":\["no signed provenance record' "$T/r"; then pass serve_refuses_unsigned_403
	else fail serve_refuses_unsigned_403 "$c $(head -c 400 "$T/r")"; fi
	c=$(curl -s -o "$T/r" -w '%{http_code}' "$U/v1/chat/completions" \
		-d '{"model":"late","messages":[{"role":"user","content":"hi"}]}')
	if [ "$c" = 403 ] && grep -q '"code":"refused_by_policy"' "$T/r" && grep -q '"report":{' "$T/r"; then
		pass serve_refuses_unsigned_openai
	else fail serve_refuses_unsigned_openai "$c $(head -c 300 "$T/r")"; fi
	c=$(gen signed)
	[ "$c" = 200 ] && grep -q '"done":true' "$T/r" && pass serve_signed_file || fail serve_signed_file "$c $(head -c 300 "$T/r")"
	# signed while the server runs: the next load sees the records
	HEARTH_HOME=$SV "$H" sign late --key "$T/keys/alice.key" --license MIT >/dev/null 2>"$T/e"
	c=$(gen late)
	[ "$c" = 200 ] && grep -q '"done":true' "$T/r" && pass serve_once_signed || fail serve_once_signed "$c $(head -c 300 "$T/r") $(cat "$T/e")"
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/srv.log"; then
		fail serve_clean_exit "$(grep -m1 -A4 -E 'Sanitizer|runtime error' "$T/srv.log" | tr '\n' ' ')"
	else pass serve_clean_exit; fi
else
	skip serve "curl is needed"
fi

# ---------------------------------------------------------------- registry
if ! command -v docker-registry >/dev/null; then
	skip registry "docker-registry is not installed (apt-get install docker-registry)"
	exit 0
fi
P=$(free_port)
R=127.0.0.1:$P
mkdir -p "$T/reg/data"
cat >"$T/reg/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $T/reg/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$P}
EOF
docker-registry serve "$T/reg/config.yml" >"$T/reg/log" 2>&1 &
PIDS+=($!)
if ! wait_port "$P"; then
	fail registry_start "$(tail -5 "$T/reg/log")"
	exit 1
fi
"$H" push story "$R/team/story:1" --insecure >/dev/null 2>"$T/e" &&
	"$H" push plain "$R/team/plain:1" --insecure >/dev/null 2>>"$T/e" &&
	"$H" push tampered "$R/team/tampered:1" --insecure >/dev/null 2>>"$T/e" || fail push "$(cat "$T/e")"
D=$T/d
if HEARTH_POLICY=$T/policy.json HEARTH_HOME=$D "$H" pull "$R/team/story:1" --insecure >/dev/null 2>"$T/e" &&
	[ "$(id_of "$D" "$R/team/story:1")" = "$(id_of "$HEARTH_HOME" story:latest)" ] &&
	HEARTH_HOME=$D "$H" verify "$R/team/story:1" --key "$T/keys/alice.pub" >"$T/v" 2>>"$T/e" &&
	grep -q "allowed" "$T/v" && HEARTH_HOME=$D "$H" show "$R/team/story:1" | grep -q "2 records"; then
	pass registry_signed_pull_keeps_records
else fail registry_signed_pull_keeps_records "$(cat "$T/e" "$T/v" 2>/dev/null | head -20)"; fi
refused() { # NAME REF REASON-TEXT
	local before
	before=$(names "$D")
	if HEARTH_POLICY=$T/policy.json HEARTH_HOME=$D "$H" pull "$R/team/$2" --insecure >"$T/o" 2>"$T/e"; then
		fail "$1" "accepted"
	elif [ "$before" != "$(names "$D")" ]; then fail "$1" "a name appeared: $(names "$D")"
	elif [ -e "$D/store/manifests/$R/team/${2%%:*}" ]; then fail "$1" "a manifest was written"
	elif ls "$D/store/blobs/sha256/" | grep -q partial; then fail "$1" "partial files left"
	elif grep -q "REFUSED" "$T/e" && grep -q "refused by policy" "$T/e" && grep -qi -- "$3" "$T/e"; then
		pass "$1"
	else fail "$1" "$(cat "$T/e")"; fi
}
refused registry_refuses_unsigned plain:1 "no signed provenance record"
refused registry_refuses_tampered tampered:1 "changed"
# without a policy the same pull is allowed (behaviour unchanged)
if HEARTH_HOME=$D "$H" pull "$R/team/plain:1" --insecure >/dev/null 2>"$T/e" &&
	names "$D" | grep -q "team/plain:1"; then pass registry_no_policy_unchanged
else fail registry_no_policy_unchanged "$(cat "$T/e")"; fi

# the server's /api/pull: the same decision, 403 and the report
if command -v curl >/dev/null; then
	SV2=$T/sv2
	mkdir -p "$SV2"
	HEARTH_POLICY=$T/policy.json HEARTH_HOME=$SV2 "$H" serve --port 0 >"$T/srv2.out" 2>"$T/srv2.log" &
	SPID=$!
	PIDS+=("$SPID")
	for _ in $(seq 100); do
		grep -q 'listening on' "$T/srv2.log" 2>/dev/null && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	SP=$(grep -o 'listening on http://[^ ]*' "$T/srv2.log" | grep -o '[0-9]*$')
	U=http://127.0.0.1:${SP:-1}
	c=$(curl -s -o "$T/r" -w '%{http_code}' "$U/api/pull" \
		-d "{\"model\":\"$R/team/plain:1\",\"insecure\":true,\"stream\":false}")
	if [ "$c" = 403 ] && grep -q '"error":"refused by policy' "$T/r" &&
		grep -q '"report":{"model":"'"$R"'/team/plain:1","allowed":false' "$T/r" && [ -z "$(names "$SV2")" ]; then
		pass api_pull_refuses_unsigned
	else fail api_pull_refuses_unsigned "$c $(head -c 400 "$T/r") $(names "$SV2")"; fi
	curl -s "$U/api/pull" -d "{\"model\":\"$R/team/tampered:1\",\"insecure\":true}" >"$T/r"
	if tail -1 "$T/r" | grep -q '"error":"refused by policy.*"report":{' && [ -z "$(names "$SV2")" ]; then
		pass api_pull_stream_refuses_tampered
	else fail api_pull_stream_refuses_tampered "$(tail -c 400 "$T/r")"; fi
	c=$(curl -s -o "$T/r" -w '%{http_code}' "$U/api/pull" \
		-d "{\"model\":\"$R/team/story:1\",\"insecure\":true,\"stream\":false}")
	c2=$(curl -s -o "$T/r2" -w '%{http_code}' "$U/api/generate" \
		-d "{\"model\":\"$R/team/story:1\",\"prompt\":\"Once\",\"stream\":false,\"options\":{\"num_predict\":3}}")
	if [ "$c" = 200 ] && [ "$c2" = 200 ] && names "$SV2" | grep -q "team/story:1"; then pass api_pull_signed_and_serve
	else fail api_pull_signed_and_serve "$c $c2 $(head -c 300 "$T/r" "$T/r2")"; fi
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/srv2.log"; then
		fail serve_pull_clean_exit "$(grep -m1 -A4 -E 'Sanitizer|runtime error' "$T/srv2.log" | tr '\n' ' ')"
	else pass serve_pull_clean_exit; fi
fi
exit 0
