#!/usr/bin/env bash
# End-to-end tests of the model store: import/list/cp/rm/create, names as
# MODEL arguments, OCI layouts (folder and tar) and hostile archives, an
# Ollama store on disk, and — with Debian's docker-registry (the reference
# `distribution` server) — push/pull without and with basic auth, no
# re-upload, resume after kill -9, kills at random points then fsck, two
# pulls at once, and a registry that lies (tests/e2e/store_hostile.js).
# One line per check: PASS name / FAIL name: why / SKIP name: why.
set -u
H=${HEARTH_BIN:?}
T=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	chmod -R u+w "$T" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
unset HEARTH_REGISTRY_AUTH HEARTH_UPLOAD_CHUNK
export HEARTH_HOME=$T/a HEARTH_OFFLINE=1

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
# a listing of a store: every file with its size, partial downloads aside
snap() { (cd "$1/store" 2>/dev/null && find . -type f ! -name '*.partial' ! -name lock -printf '%p %s\n' | sort); }
id_of() { "$H" list | awk -v n="$1" '$1 == n { print $2 }'; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

"$H" mkmodel --shape tiny --n-layer 1 --seed 1 -o "$T/tiny.gguf" >/dev/null 2>&1
"$H" mkmodel --shape tiny --n-layer 1 --seed 2 -o "$T/tiny2.gguf" >/dev/null 2>&1
if [ ! -s "$T/tiny.gguf" ]; then
	fail mkmodel "hearth mkmodel did not write a model"
	exit 1
fi

# --- import, list, names as MODEL, cp, rm ---
"$H" import "$T/tiny.gguf" tiny >"$T/o" 2>"$T/e" && "$H" list >"$T/l" 2>&1
if grep -q '^tiny:latest ' "$T/l" && head -1 "$T/l" | grep -q 'NAME *ID *SIZE *MODIFIED'; then pass import_list
else fail import_list "$(cat "$T/e" "$T/l")"; fi
n1=$(ls "$HEARTH_HOME/store/blobs/sha256" | wc -l)
"$H" import "$T/tiny.gguf" tiny:again >/dev/null 2>&1
n2=$(ls "$HEARTH_HOME/store/blobs/sha256" | wc -l)
[ "$n1" = "$n2" ] && [ "$(id_of tiny:again)" = "$(id_of tiny:latest)" ] && pass import_twice_stores_nothing_new \
	|| fail import_twice_stores_nothing_new "blobs $n1 -> $n2"
want=$("$H" tokenize "$T/tiny.gguf" -p "hello" 2>&1)
got=$("$H" tokenize tiny -p "hello" 2>&1)
[ -n "$want" ] && [ "$want" = "$got" ] && pass name_as_model || fail name_as_model "$want vs $got"
"$H" show tiny >"$T/o" 2>&1 && grep -q "store/blobs/sha256" "$T/o" && pass show_name || fail show_name "$(head -3 "$T/o")"
"$H" cp tiny other/tiny:v1 >/dev/null 2>&1 && [ "$(id_of other/tiny:v1)" = "$(id_of tiny:latest)" ] \
	&& pass cp || fail cp "$("$H" list)"
head -c 5000 /dev/urandom >"$T/junk.gguf"
before=$(snap "$HEARTH_HOME")
if "$H" import "$T/junk.gguf" junk >"$T/o" 2>"$T/e"; then fail import_not_gguf "accepted"
elif [ "$before" != "$(snap "$HEARTH_HOME")" ]; then fail import_not_gguf "store changed"
elif ! grep -q "GGUF" "$T/e"; then fail import_not_gguf "$(cat "$T/e")"
else pass import_not_gguf; fi
if "$H" import "$T/tiny.gguf" "../../etc/x" >/dev/null 2>"$T/e"; then fail bad_name "accepted"
else pass bad_name; fi

# --- create from a Modelfile ---
cat >"$T/Modelfile" <<'EOF'
# a Modelfile as people write them for the peer
FROM ./tiny2.gguf
PARAMETER temperature 0.4
PARAMETER stop "<|im_end|>"
PARAMETER num_ctx 512
TEMPLATE """{{ if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}<|im_start|>user
{{ .Prompt }}<|im_end|>
<|im_start|>assistant
"""
SYSTEM You answer in one sentence.
LICENSE """Apache License 2.0
(text)"""
ADAPTER ./tiny.gguf
EOF
if "$H" create chatty -f "$T/Modelfile" >"$T/o" 2>"$T/e" && "$H" list | grep -q '^chatty:latest '; then
	if grep -q "not apply" "$T/e" && "$H" tokenize chatty -p hi 2>&1 >/dev/null | grep -q "adapters"; then
		pass create_modelfile
	else fail create_modelfile "no adapter warning: $(cat "$T/e")"; fi
else fail create_modelfile "$(cat "$T/e")"; fi
printf 'FROM chatty\nPARAMETER mirostat 2\n' >"$T/Modelfile.bad"
if "$H" create bad -f "$T/Modelfile.bad" >/dev/null 2>"$T/e"; then fail create_bad_parameter "accepted"
elif grep -q "line 2" "$T/e" && grep -q "mirostat" "$T/e"; then pass create_bad_parameter
else fail create_bad_parameter "$(cat "$T/e")"; fi

# --- rm collects garbage ---
"$H" rm chatty >/dev/null 2>&1
left=$(ls "$HEARTH_HOME/store/blobs/sha256" | wc -l)
[ "$left" = "$n1" ] && pass rm_gc || fail rm_gc "$left blobs left, want $n1"
"$H" fsck >"$T/o" 2>&1 && grep -q "clean" "$T/o" && pass fsck_clean || fail fsck_clean "$(cat "$T/o")"

# --- OCI layout: folder and tar, into an empty store ---
"$H" export tiny "$T/layout" >/dev/null 2>&1 && "$H" export other/tiny:v1 "$T/layout" >/dev/null 2>&1
"$H" export tiny "$T/tiny.tar" >/dev/null 2>&1
if [ -f "$T/layout/oci-layout" ] && grep -q '"org.opencontainers.image.ref.name":"other/tiny:v1"' "$T/layout/index.json" \
	&& tar tf "$T/tiny.tar" | grep -q '^index.json$'; then pass export_layout
else fail export_layout "$(ls -R "$T/layout" | head)"; fi
B=$T/b
HEARTH_HOME=$B "$H" pull "oci:$T/tiny.tar" >/dev/null 2>"$T/e" \
	&& HEARTH_HOME=$B "$H" pull "oci:$T/layout:other/tiny:v1" >/dev/null 2>>"$T/e" \
	&& HEARTH_HOME=$B "$H" pull "oci:$T/layout:tiny:latest" copied >/dev/null 2>>"$T/e"
idb=$(HEARTH_HOME=$B "$H" list | awk '$1 == "tiny:latest" { print $2 }')
idc=$(HEARTH_HOME=$B "$H" list | awk '$1 == "copied:latest" { print $2 }')
if [ -n "$idb" ] && [ "$idb" = "$(id_of tiny:latest)" ] && [ "$idc" = "$idb" ]; then pass pull_oci_layout
else fail pull_oci_layout "$(cat "$T/e")"; fi
HEARTH_HOME=$B "$H" pull "oci:$T/layout" >/dev/null 2>"$T/e" && fail layout_needs_ref "accepted" \
	|| { grep -q "say which" "$T/e" && pass layout_needs_ref || fail layout_needs_ref "$(cat "$T/e")"; }

# --- hostile layouts and archives: refused, store unchanged ---
HB=$T/hb
HEARTH_HOME=$HB "$H" import "$T/tiny2.gguf" other >/dev/null 2>&1
before=$(snap "$HB")
hostile() { # NAME SOURCE EXPECTED-TEXT
	if HEARTH_HOME=$HB "$H" pull "$2" x >"$T/o" 2>"$T/e"; then fail "$1" "accepted"
	elif [ "$before" != "$(snap "$HB")" ]; then fail "$1" "store changed"
	elif ! grep -qi -- "$3" "$T/e"; then fail "$1" "$(cat "$T/e")"
	else pass "$1"; fi
}
mklayout() { # DIR: a copy of the good layout to spoil
	rm -rf "$1"
	cp -r "$T/layout" "$1"
	chmod -R u+w "$1"
}
M=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*"size":\([0-9]*\).*other\/tiny.*/\1/' "$T/layout/index.json")
for bad in '../../../../../../etc/passwd' "$(echo "$M" | tr a-f A-F)" "${M:0:63}" "${M}0"; do
	mklayout "$T/hl"
	sed -i "s|sha256:$M|sha256:$bad|" "$T/hl/index.json"
	case "$bad" in ../*) n=digest_traversal ;; *[A-F]*) n=digest_uppercase ;; *) n=digest_length_${#bad} ;; esac
	hostile "$n" "oci:$T/hl:other/tiny:v1" "digest"
done
# a manifest whose layer is absent, or bigger than it is
mklayout "$T/hl"
W=$(sha "$T/tiny.gguf")
rm "$T/hl/blobs/sha256/$W"
hostile layer_absent "oci:$T/hl:tiny:latest" "no such file"
mklayout "$T/hl"
truncate -s +100 "$T/hl/blobs/sha256/$W"
hostile layer_oversized "oci:$T/hl:tiny:latest" "bytes"
mklayout "$T/hl"
printf 'x' | dd of="$T/hl/blobs/sha256/$W" bs=1 seek=1000 conv=notrunc 2>/dev/null
hostile layer_corrupt "oci:$T/hl:tiny:latest" "hash"
mklayout "$T/hl"
rm "$T/hl/blobs/sha256/$W"
ln -s /etc/passwd "$T/hl/blobs/sha256/$W"
hostile layer_symlink "oci:$T/hl:tiny:latest" "link"
# tars whose members leave the folder
mkdir -p "$T/tx" && tar -C "$T/tx" -xf "$T/tiny.tar"
echo evil >"$T/tx/evil"
tar -C "$T/tx" -cf "$T/e1.tar" oci-layout index.json blobs --transform 's|^index.json$|../../index.json|' 2>/dev/null
hostile tar_dotdot "oci:$T/e1.tar" "\.\."
tar -C "$T/tx" -cPf "$T/e2.tar" oci-layout index.json blobs "$T/tx/evil" 2>/dev/null
hostile tar_absolute "oci:$T/e2.tar" "absolute"
ln -s /etc/passwd "$T/tx/blobs/sha256/link"
tar -C "$T/tx" -cf "$T/e3.tar" oci-layout index.json blobs 2>/dev/null
hostile tar_symlink "oci:$T/e3.tar" "link"
rm "$T/tx/blobs/sha256/link"
ln "$T/tx/oci-layout" "$T/tx/blobs/hard"
tar -C "$T/tx" -cf "$T/e4.tar" oci-layout index.json blobs 2>/dev/null
hostile tar_hardlink "oci:$T/e4.tar" "link"
rm "$T/tx/blobs/hard"
tar -C "$T/tx" -cf "$T/e5.tar" oci-layout index.json blobs 2>/dev/null
mkdir -p "$T/tx2" && echo '{"schemaVersion":2,"manifests":[]}' >"$T/tx2/index.json"
tar -C "$T/tx2" -rf "$T/e5.tar" index.json
hostile tar_duplicate "oci:$T/e5.tar" "twice"
truncate -s 120M "$T/tx/zeros"
tar -C "$T/tx" -czf "$T/bomb.tar.gz" oci-layout index.json zeros blobs 2>/dev/null
rm -f "$T/tx/zeros"
hostile tar_gzip_bomb "oci:$T/bomb.tar.gz" "bomb"
[ ! -e "$T/evil" ] && [ ! -e /abs ] && pass tar_nothing_written_outside || fail tar_nothing_written_outside "files appeared"

# --- an Ollama store on disk (its real layout) ---
O=$T/ollama/models
mkdir -p "$O/blobs" "$O/manifests/registry.ollama.ai/library/tiny" "$O/manifests/registry.ollama.ai/library/broken"
put() { local d; d=$(sha "$1"); cp "$1" "$O/blobs/sha256-$d"; echo "$d $(stat -c %s "$1")"; }
printf '{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}' >"$T/tmpl"
printf 'You are terse.' >"$T/sys"
printf '{"stop":["<|eot_id|>"],"temperature":0.25,"num_gpu":99}' >"$T/params"
printf 'LLAMA 3.2 COMMUNITY LICENSE' >"$T/lic"
printf '{"model_format":"gguf","model_family":"llama"}' >"$T/cfg"
read -r dm sm < <(put "$T/tiny.gguf")
read -r dt st < <(put "$T/tmpl")
read -r ds ss < <(put "$T/sys")
read -r dp sp < <(put "$T/params")
read -r dl sl < <(put "$T/lic")
read -r dc sc < <(put "$T/cfg")
layer() { printf '{"mediaType":"application/vnd.ollama.image.%s","digest":"sha256:%s","size":%s}' "$1" "$2" "$3"; }
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":%s},"layers":[%s,%s,%s,%s,%s]}' \
	"$dc" "$sc" "$(layer model "$dm" "$sm")" "$(layer template "$dt" "$st")" "$(layer system "$ds" "$ss")" \
	"$(layer params "$dp" "$sp")" "$(layer license "$dl" "$sl")" >"$O/manifests/registry.ollama.ai/library/tiny/3b"
printf '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:%s","size":%s},"layers":[%s]}' \
	"$dc" "$sc" "$(layer model "$ds" "$sm")" >"$O/manifests/registry.ollama.ai/library/broken/latest"
C=$T/c
if HEARTH_HOME=$C "$H" import --from-ollama "$O" >"$T/o" 2>"$T/e" && HEARTH_HOME=$C "$H" list | grep -q '^tiny:3b '; then
	ours=$(ls -i "$C/store/blobs/sha256/$dm" | cut -d' ' -f1)
	theirs=$(ls -i "$O/blobs/sha256-$dm" | cut -d' ' -f1)
	js=$(grep -l '"temperature":0.25' "$C"/store/blobs/sha256/* 2>/dev/null | head -1)
	if [ "$ours" != "$theirs" ]; then fail ollama_import "the GGUF was copied, not hard-linked"
	elif [ -z "$js" ] || ! grep -q '"template_family":"llama3"' "$js" || ! grep -q 'You are terse' "$js"; then
		fail ollama_import "settings not carried over"
	elif ! grep -q "skipped broken" "$T/e"; then fail ollama_import "the broken model was not reported: $(cat "$T/e")"
	else pass ollama_import; fi
else fail ollama_import "$(cat "$T/e" "$T/o")"; fi

# ---------------------------------------------------------------- registries
if ! command -v docker-registry >/dev/null; then
	skip registry "docker-registry is not installed (apt-get install docker-registry)"
	exit 0
fi
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
start_registry() { # DIR PORT [htpasswd-file]
	mkdir -p "$1/data"
	{
		echo "version: 0.1"
		echo "log: {level: info, accesslog: {disabled: false}}"
		echo "storage: {filesystem: {rootdirectory: $1/data}, delete: {enabled: true}}"
		echo "http: {addr: 127.0.0.1:$2}"
		[ -n "${3:-}" ] && echo "auth: {htpasswd: {realm: hearth-test, path: $3}}"
	} >"$1/config.yml"
	docker-registry serve "$1/config.yml" >"$1/log" 2>&1 &
	PIDS+=($!)
	wait_port "$2"
}

P=$(free_port)
R=127.0.0.1:$P
if ! start_registry "$T/reg" "$P"; then
	fail registry_start "$(tail -5 "$T/reg/log")"
	exit 1
fi
posts() { grep -c 'POST /v2/[^ ]*/blobs/uploads/' "$T/reg/log"; }
HEARTH_UPLOAD_CHUNK=200000 "$H" push tiny "$R/team/tiny:1" --insecure >"$T/o" 2>"$T/e"
rc=$?
patches=$(grep -c '"PATCH /v2/team/tiny/blobs/uploads/' "$T/reg/log")
[ $rc = 0 ] && [ "$patches" -gt 1 ] && pass push_chunked || fail push_chunked "rc $rc, $patches PATCH: $(cat "$T/e")"
D=$T/d
HEARTH_HOME=$D "$H" pull "$R/team/tiny:1" --insecure --json >"$T/o" 2>"$T/e"
idd=$(HEARTH_HOME=$D "$H" list | awk -v n="$R/team/tiny:1" '$1 == n { print $2 }')
w1=$(sha "$("$H" show tiny | awk '$1 == "file" { print $2 }')")
w2=$(sha "$(HEARTH_HOME=$D "$H" show "$R/team/tiny:1" | awk '$1 == "file" { print $2 }')")
if [ -n "$idd" ] && [ "$idd" = "$(id_of tiny:latest)" ] && [ "$w1" = "$w2" ] && grep -q '"status":"success"' "$T/o"; then
	pass push_pull_same_digests
else fail push_pull_same_digests "ids $idd / $(id_of tiny:latest): $(cat "$T/e")"; fi
p0=$(posts)
"$H" push tiny "$R/team/tiny:1" --insecure --json >"$T/o" 2>"$T/e"
p1=$(posts)
[ "$p0" = "$p1" ] && [ "$(grep -c '"status":"exists"' "$T/o")" -ge 3 ] && pass push_again_uploads_nothing \
	|| fail push_again_uploads_nothing "uploads $p0 -> $p1"
"$H" push tiny "$R/team/tiny:2" --insecure >/dev/null 2>&1
[ "$p1" = "$(posts)" ] && pass push_new_tag_uploads_nothing || fail push_new_tag_uploads_nothing "$(posts) uploads"
"$H" push tiny --insecure >"$T/o" 2>"$T/e" && fail push_needs_registry "accepted" || pass push_needs_registry
if HEARTH_HOME=$D "$H" pull "$R/team/absent:1" --insecure >/dev/null 2>"$T/e"; then fail pull_unknown "accepted"
elif grep -q "404" "$T/e"; then pass pull_unknown; else fail pull_unknown "$(cat "$T/e")"; fi

# a bigger model for interruptions
"$H" mkmodel --shape tiny --n-embd 1024 --n-layer 4 --n-ff 4096 --type Q8_0 -o "$T/big.gguf" >/dev/null 2>&1
"$H" import "$T/big.gguf" big >/dev/null 2>&1 && "$H" push big "$R/team/big:1" --insecure >/dev/null 2>&1
BIG=$(stat -c %s "$T/big.gguf")
BW=$(sha "$T/big.gguf")

# resume: kill -9 half-way, then pull again
E=$T/e-home
HEARTH_HOME=$E "$H" pull "$R/team/big:1" --insecure --limit-rate 8M >/dev/null 2>&1 &
pid=$!
part=$E/store/blobs/sha256/$BW.partial
for _ in $(seq 1 100); do
	[ -f "$part" ] && [ "$(stat -c %s "$part")" -gt 4000000 ] && break
	sleep 0.1
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
have=$(stat -c %s "$part" 2>/dev/null || echo 0)
HEARTH_HOME=$E "$H" pull "$R/team/big:1" --insecure --json >"$T/o" 2>"$T/e"
rc=$?
got=$(sha "$E/store/blobs/sha256/$BW" 2>/dev/null)
if [ "$have" -gt 0 ] && [ "$have" -lt "$BIG" ] && [ $rc = 0 ] && grep -q '"status":"resuming"' "$T/o" && [ "$got" = "$BW" ]; then
	pass pull_resume_after_kill
else fail pull_resume_after_kill "partial $have of $BIG, rc $rc: $(cat "$T/e")"; fi

# kill -9 at random points of imports and pulls, then fsck
F=$T/f-home
for i in $(seq 1 8); do
	HEARTH_HOME=$F "$H" import "$T/big.gguf" "big$i" >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(printf '%03d' $((RANDOM % 600)))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	HEARTH_HOME=$F "$H" pull "$R/team/big:1" --insecure --limit-rate 40M >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(printf '%03d' $((RANDOM % 900)))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
done
if HEARTH_HOME=$F "$H" fsck >"$T/o" 2>&1 && grep -q "clean" "$T/o" && ! grep -q PROBLEM "$T/o"; then
	pass fsck_after_kills
else fail fsck_after_kills "$(cat "$T/o")"; fi
HEARTH_HOME=$F "$H" pull "$R/team/big:1" --insecure >/dev/null 2>&1 && HEARTH_HOME=$F "$H" fsck >"$T/o" 2>&1 \
	&& [ "$(sha "$F/store/blobs/sha256/$BW")" = "$BW" ] && pass pull_after_kills || fail pull_after_kills "$(cat "$T/o")"

# two pulls of one model at once
G=$T/g-home
HEARTH_HOME=$G "$H" pull "$R/team/big:1" --insecure --limit-rate 30M >"$T/o1" 2>&1 &
p1=$!
HEARTH_HOME=$G "$H" pull "$R/team/big:1" --insecure --limit-rate 30M >"$T/o2" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
if [ $r1 = 0 ] && [ $r2 = 0 ] && HEARTH_HOME=$G "$H" fsck >"$T/o" 2>&1 && [ "$(sha "$G/store/blobs/sha256/$BW")" = "$BW" ]; then
	pass concurrent_pulls
else fail concurrent_pulls "rc $r1 $r2: $(cat "$T/o1" "$T/o2" "$T/o")"; fi

# --- basic auth (htpasswd) ---
if command -v htpasswd >/dev/null; then
	htpasswd -Bbn alice 's3cret!' >"$T/htpasswd" 2>/dev/null
	PA=$(free_port)
	RA=127.0.0.1:$PA
	if start_registry "$T/rega" "$PA" "$T/htpasswd"; then
		if "$H" push tiny "$RA/team/tiny:1" --insecure >/dev/null 2>"$T/e"; then fail auth_required "pushed without credentials"
		elif grep -q "HEARTH_REGISTRY_AUTH" "$T/e"; then pass auth_required; else fail auth_required "$(cat "$T/e")"; fi
		if HEARTH_REGISTRY_AUTH='alice:wrong' "$H" push tiny "$RA/team/tiny:1" --insecure >/dev/null 2>"$T/e"; then
			fail auth_wrong_password "accepted"
		else pass auth_wrong_password; fi
		HEARTH_REGISTRY_AUTH='alice:s3cret!' "$H" push tiny "$RA/team/tiny:1" --insecure >/dev/null 2>"$T/e"
		rc=$?
		K=$T/k-home
		mkdir -p "$K"
		printf '{"auths":{"%s":{"auth":"%s"}}}' "$RA" "$(printf 'alice:s3cret!' | base64)" >"$K/auth.json"
		HEARTH_HOME=$K "$H" pull "$RA/team/tiny:1" --insecure >/dev/null 2>>"$T/e"
		if [ $rc = 0 ] && [ "$(HEARTH_HOME=$K "$H" list | awk -v n="$RA/team/tiny:1" '$1 == n { print $2 }')" = "$(id_of tiny:latest)" ]; then
			pass auth_basic_push_pull
		else fail auth_basic_push_pull "$(cat "$T/e")"; fi
	else fail auth_registry_start "$(tail -5 "$T/rega/log")"; fi
else skip auth_basic "htpasswd is not installed (apache2-utils)"; fi

# --- a registry that lies ---
if ! command -v node >/dev/null; then
	skip hostile_registry "node is not installed"
	exit 0
fi
PH=$(free_port)
node "$(dirname "$0")/store_hostile.js" "$PH" "$T/hlog" "$T/tiny.gguf" &
PIDS+=($!)
if ! wait_port "$PH"; then
	fail hostile_start "the node server did not start"
	exit 0
fi
L=$T/l-home
HEARTH_HOME=$L "$H" import "$T/tiny.gguf" tiny >/dev/null 2>&1
before=$(snap "$L")
lie() { # NAME REPO EXPECTED-TEXT
	if HEARTH_HOME=$L "$H" pull "127.0.0.1:$PH/$2:t" --insecure >"$T/o" 2>"$T/e"; then fail "$1" "accepted"
	elif [ "$before" != "$(snap "$L")" ]; then fail "$1" "store changed: $(diff <(echo "$before") <(snap "$L"))"
	elif ls "$L/store/blobs/sha256/" | grep -q partial; then fail "$1" "a partial file of bad bytes was kept"
	elif ! grep -qi -- "$3" "$T/e"; then fail "$1" "$(cat "$T/e")"
	else pass "$1"; fi
}
lie registry_sends_more_bytes lie/longer "more bytes than"
lie registry_announces_wrong_length lie/length "announced"
lie registry_wrong_bytes lie/digest "hash to"
lie registry_wrong_manifest_digest lie/mdigest "hash to"
lie registry_oversized_layer lie/huge "integer from 0"
lie registry_digest_traversal lie/traversal "digest"
lie registry_digest_uppercase lie/upper "upper-case"
lie registry_absent_blob lie/absent "404"
lie registry_bad_manifest lie/notjson "JSON"
lie registry_manifest_too_big lie/bigmanifest "more than"
: >"$T/hlog"
HEARTH_HOME=$L HEARTH_REGISTRY_AUTH=alice:secret "$H" pull "127.0.0.1:$PH/auth/other:t" --insecure >/dev/null 2>&1
if grep -q '^GET /token auth=none' "$T/hlog" && grep -q 'manifests/t auth=bearer' "$T/hlog" && ! grep -q 'token auth=basic' "$T/hlog"; then
	pass credentials_not_sent_to_other_realm
else fail credentials_not_sent_to_other_realm "$(cat "$T/hlog")"; fi
: >"$T/hlog"
HEARTH_HOME=$L HEARTH_REGISTRY_AUTH=alice:secret "$H" pull "127.0.0.1:$PH/auth/same:t" --insecure >/dev/null 2>&1
if grep -q '^GET /token2 auth=basic' "$T/hlog"; then pass credentials_sent_to_own_realm
else fail credentials_sent_to_own_realm "$(cat "$T/hlog")"; fi

# --- GGUF files by URL: a hub-style redirect with the digest, a cut, a resume ---
U=$T/u-home
TW=$(sha "$T/tiny.gguf")
url=http://127.0.0.1:$PH/hf/o/r/resolve/main/x.gguf
if HEARTH_OFFLINE=0 HEARTH_HOME=$U "$H" pull "$url" --insecure >/dev/null 2>"$T/e"; then
	fail url_pull_cut "the cut download succeeded"
elif [ ! -s "$U/store/blobs/sha256/$TW.partial" ]; then fail url_pull_cut "no partial file kept: $(cat "$T/e")"
else pass url_pull_cut; fi
HEARTH_OFFLINE=0 HEARTH_HOME=$U "$H" pull "$url" --insecure --json >"$T/o" 2>"$T/e"
if [ $? = 0 ] && grep -q '"status":"resuming"' "$T/o" && [ "$(sha "$U/store/blobs/sha256/$TW")" = "$TW" ] \
	&& HEARTH_HOME=$U "$H" list | grep -q "^127.0.0.1:$PH/library/x:latest "; then pass url_pull_resume
else fail url_pull_resume "$(cat "$T/e" "$T/o")"; fi
before=$(snap "$U")
plain=http://127.0.0.1:$PH/plain/x.gguf
if HEARTH_OFFLINE=0 HEARTH_HOME=$U "$H" pull "$plain" plain --insecure >/dev/null 2>"$T/e"; then fail url_needs_digest "accepted"
elif grep -q -- "--digest" "$T/e" && [ "$before" = "$(snap "$U")" ]; then pass url_needs_digest
else fail url_needs_digest "$(cat "$T/e")"; fi
HEARTH_OFFLINE=0 HEARTH_HOME=$U "$H" pull "$plain" plain --insecure --digest "sha256:$(sha "$T/tiny2.gguf")" >/dev/null 2>"$T/e"
if [ $? != 0 ] && [ "$before" = "$(snap "$U")" ] && ! ls "$U/store/blobs/sha256" | grep -q partial; then pass url_wrong_digest
else fail url_wrong_digest "$(cat "$T/e")"; fi
HEARTH_OFFLINE=0 HEARTH_HOME=$U "$H" pull "$plain" plain --insecure --digest "sha256:$TW" >/dev/null 2>"$T/e" \
	&& HEARTH_HOME=$U "$H" list | grep -q '^plain:latest ' && pass url_with_digest || fail url_with_digest "$(cat "$T/e")"
if HEARTH_HOME=$U "$H" pull "$plain" plain2 >/dev/null 2>"$T/e"; then fail url_http_needs_insecure "accepted"
else pass url_http_needs_insecure; fi
exit 0
