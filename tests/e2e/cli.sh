#!/usr/bin/env bash
# End-to-end tests of the hearth command: the machine-readable outputs, the
# story model, the interactive chat in a real pseudo-terminal, errors.
# One line per check: PASS name / FAIL name: why / SKIP name: why.
set -u
H=${HEARTH_BIN:?}
SH=${HEARTH_SHARED:-../shared}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export HEARTH_HOME=$T/home HEARTH_OFFLINE=1

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }
# json FILE EXPR: evaluate a JavaScript expression over the parsed file
json() { node -e "const d=JSON.parse(require('fs').readFileSync('$1','utf8')); process.exit(($2)?0:1)"; }

have_node=1; command -v node >/dev/null || have_node=0

# --- errors: one line on stderr, non-zero status ---
if "$H" run /nonexistent/model.gguf "hi" >"$T/o" 2>"$T/e"; then
	fail missing_model "exit status 0"
elif [ "$(wc -l <"$T/e")" -ne 1 ] || ! grep -q "nonexistent" "$T/e"; then
	fail missing_model "stderr: $(cat "$T/e")"
else pass missing_model; fi

printf 'GGUF' >"$T/four.gguf"
if "$H" show "$T/four.gguf" >"$T/o" 2>"$T/e"; then fail four_byte_file "accepted"
elif ! grep -q "byte" "$T/e"; then fail four_byte_file "$(cat "$T/e")"
else pass four_byte_file; fi

head -c 100000 /dev/urandom >"$T/rand.gguf"
if "$H" run "$T/rand.gguf" hi >"$T/o" 2>"$T/e"; then fail random_file "accepted"
elif ! grep -q "not a GGUF file" "$T/e"; then fail random_file "$(cat "$T/e")"
else pass random_file; fi

if "$H" frobnicate >"$T/o" 2>"$T/e"; then fail unknown_command "status 0"
else pass unknown_command; fi

# offline first run: clear message, how to use a file
if "$H" run >"$T/o" 2>"$T/e"; then fail offline_first_run "status 0 while offline"
elif ! grep -q "offline" "$T/e" || ! grep -q "hearth run /path/to/model.gguf" "$T/e"; then
	fail offline_first_run "$(cat "$T/e")"
else pass offline_first_run; fi

if [ ! -d "$SH/models" ]; then
	skip shared_models "$SH is absent: the model tests need ../shared"
	exit 0
fi
S=$SH/models/stories260K.gguf
G=$SH/models/syn-granite-256-Q4_K_M.gguf

# --- tokenize ---
out=$("$H" tokenize "$S" -p "Once upon a time" 2>&1)
[ "$out" = "[1, 403, 407, 261, 378]" ] && pass tokenize_spm || fail tokenize_spm "$out"
out=$("$H" tokenize "$S" --no-bos -p "Once upon a time" 2>&1)
[ "$out" = "[403, 407, 261, 378]" ] && pass tokenize_no_bos || fail tokenize_no_bos "$out"
V=$SH/vocab/ggml-vocab-gpt-2.gguf
out=$("$H" tokenize "$V" -p "Hello world" 2>&1)
[ "$out" = "[15496, 995]" ] && pass tokenize_vocab_only || fail tokenize_vocab_only "$out"
out=$("$H" tokenize "$V" -p "<|endoftext|>" 2>&1)
out2=$("$H" tokenize "$V" --special -p "<|endoftext|>" 2>&1)
if [ "$out2" = "[50256]" ] && [ "$out" != "[50256]" ]; then pass tokenize_special
else fail tokenize_special "plain $out, special $out2"; fi
printf 'Hello world' >"$T/p.txt"
out=$("$H" tokenize "$V" -f "$T/p.txt" 2>&1)
[ "$out" = "[15496, 995]" ] && pass tokenize_file || fail tokenize_file "$out"
printf '\xff\xfe bad \xc3' >"$T/bad.txt"
if "$H" tokenize "$V" -f "$T/bad.txt" >"$T/o" 2>"$T/e"; then pass tokenize_invalid_utf8
else fail tokenize_invalid_utf8 "$(cat "$T/e")"; fi

# --- logits / generate JSON ---
if [ $have_node = 1 ]; then
	"$H" logits "$S" -p "Once upon a time" >"$T/l.json" 2>"$T/e"
	if json "$T/l.json" "d.tokens.length===5 && d.logits.length===5 && d.logits.every(r=>r.length===512)"; then
		pass logits_json
	else fail logits_json "$(head -c 300 "$T/l.json") $(cat "$T/e")"; fi
	"$H" generate "$S" -p "Once upon a time" -n 16 --temperature 0 --json >"$T/g.json" 2>"$T/e"
	want=$(node -e "const d=JSON.parse(require('fs').readFileSync('$SH/golden/stories260K.once.json'));console.log(JSON.stringify(d.greedy.slice(0,16)))")
	if json "$T/g.json" "JSON.stringify(d.tokens)===JSON.stringify($want) && typeof d.text==='string' && d.text.length>20"; then
		pass generate_greedy_json
	else fail generate_greedy_json "$(cat "$T/g.json") want $want"; fi
	"$H" generate "$S" -p "Once upon a time" -n 20 --temperature 0.9 --seed 7 --json >"$T/a.json" 2>/dev/null
	"$H" generate "$S" -p "Once upon a time" -n 20 --temperature 0.9 --seed 7 --json >"$T/b.json" 2>/dev/null
	"$H" generate "$S" -p "Once upon a time" -n 20 --temperature 0.9 --seed 8 --json >"$T/c.json" 2>/dev/null
	if cmp -s "$T/a.json" "$T/b.json" && ! cmp -s "$T/a.json" "$T/c.json"; then pass generate_seeded
	else fail generate_seeded "same seed differs or different seeds agree"; fi
	"$H" logits "$G" --no-bos -p "int main" >"$T/gl.json" 2>"$T/e"
	if json "$T/gl.json" "d.logits.length===d.tokens.length && d.logits[0].length===49216"; then
		pass logits_granite
	else fail logits_granite "$(cat "$T/e")"; fi
else
	skip logits_json "node is not installed"
fi

# --- run: a story ---
"$H" run "$S" "Once upon a time" -n 60 --seed 1 >"$T/story" 2>"$T/e"
words=$(wc -w <"$T/story")
if [ "$words" -ge 20 ] && grep -qiE "\b(the|was|and|she|he)\b" "$T/story"; then pass run_story
else fail run_story "$(cat "$T/story") $(cat "$T/e")"; fi
echo "Lily went to the park" | "$H" run "$S" -n 20 >"$T/o" 2>"$T/e"
[ -s "$T/o" ] && pass run_stdin_prompt || fail run_stdin_prompt "$(cat "$T/e")"

# --- context length is enforced, never silently cut ---
long=$(printf 'the cat sat on the mat %.0s' $(seq 1 200))
if "$H" run "$S" "$long" --ctx 64 >"$T/o" 2>"$T/e"; then fail context_overflow "accepted"
elif ! grep -q "context" "$T/e"; then fail context_overflow "$(cat "$T/e")"
else pass context_overflow; fi
"$H" generate "$S" -p "Once upon a time" -n 1000 --ctx 32 --temperature 0 --json >"$T/o" 2>"$T/e"
if [ $have_node = 1 ] && json "$T/o" "d.tokens.length<=29 && d.tokens.length>=20"; then pass generate_stops_at_context
else fail generate_stops_at_context "$(head -c 200 "$T/o") $(cat "$T/e")"; fi

# --- show ---
"$H" show "$G" >"$T/o" 2>"$T/e"
if grep -q "granite" "$T/o" && grep -q "Q4_K" "$T/o" && grep -q "Q6_K" "$T/o" &&
	grep -q "tokenizer\|Tokenizer" "$T/o"; then pass show_model
else fail show_model "$(cat "$T/o" "$T/e")"; fi
"$H" show "$V" >"$T/o" 2>"$T/e" && grep -q "tokenizer-only" "$T/o" && pass show_vocab_only ||
	fail show_vocab_only "$(cat "$T/o" "$T/e")"

# --- interactive chat in a pseudo-terminal ---
# script(1) runs its command through $SHELL; the command is exec'd so that the
# terminal's SIGINT reaches hearth alone (dash, unlike bash, dies of it while
# waiting for a child that handled it)
if command -v script >/dev/null; then
	export SHELL=/bin/sh
	{ sleep 1; printf 'Once upon a time\n'; sleep 3; printf '/bye\n'; } |
		timeout 60 script -qfec "exec $H run $S -n 30 --seed 3" /dev/null >"$T/chat" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q ">>> " "$T/chat" && [ "$(wc -w <"$T/chat")" -ge 15 ]; then pass chat_repl
	else fail chat_repl "rc=$rc $(tail -c 400 "$T/chat")"; fi
	# Ctrl-C stops the answer, not the program
	{ sleep 1; printf 'Once upon a time\n'; sleep 0.3; printf '\003'; sleep 1; printf '/bye\n'; } |
		timeout 60 script -qfec "exec $H run $S -n -1 --ctx 2048 --seed 3" /dev/null >"$T/chat2" 2>&1
	rc=$?
	n_prompts=$(grep -o ">>> " "$T/chat2" | wc -l)
	if [ $rc -eq 0 ] && [ "$n_prompts" -ge 2 ]; then pass chat_ctrl_c
	else fail chat_ctrl_c "rc=$rc prompts=$n_prompts $(tail -c 300 "$T/chat2")"; fi
else
	skip chat_repl "script(1) is not installed"
fi
exit 0
