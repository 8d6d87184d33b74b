// tests/e2e/server/clients.mjs BASE_URL STORY_MODEL FIM_MODEL CHAT_MODEL
// Drive a running `hearth serve` with the official `ollama` and `openai`
// npm client libraries: chat and generate, streaming and not, fill in the
// middle through `suffix`, model lists, embeddings, errors, and 8 clients
// streaming at once. One line per check: PASS name / FAIL name: why.
import { Ollama } from 'ollama';
import OpenAI from 'openai';

const [base, story, fim, chatModel] = process.argv.slice(2);
const ollama = new Ollama({ host: base });
const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
let failed = 0;
const pass = (n) => console.log(`PASS ${n}`);
const fail = (n, why) => { failed++; console.log(`FAIL ${n}: ${String(why).split('\n')[0]}`); };
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === true || r === undefined) pass(name); else fail(name, r);
  } catch (e) { fail(name, e && e.stack ? e.stack.split('\n').slice(0, 2).join(' ') : e); }
}
const opts = { num_predict: 12, temperature: 0, seed: 1 };
const isNs = (v) => Number.isInteger(v) && v >= 0;

// ---------------- ollama ----------------
await check('ollama_list', async () => {
  const r = await ollama.list();
  const names = r.models.map((m) => m.name);
  return [story, fim, chatModel].every((n) => names.includes(n)) || `got ${names}`;
});
await check('ollama_show_fim', async () => {
  const r = await ollama.show({ model: fim });
  if (!/num_ctx\s+\d+/.test(r.parameters)) return `parameters: ${r.parameters}`;
  if (!/^stop\s+"/m.test(r.parameters)) return `no stop line: ${r.parameters}`;
  if (!r.template.includes('.Suffix')) return `template: ${r.template}`;
  return r.model_info['general.architecture'] === 'granite' && r.details.format === 'gguf' || 'model_info/details';
});
await check('ollama_show_no_fim', async () => {
  const r = await ollama.show({ model: story });
  return !r.template.includes('.Suffix') || `template: ${r.template}`;
});
await check('ollama_generate', async () => {
  const r = await ollama.generate({ model: story, prompt: 'Once upon a time', options: opts });
  if (!r.done || r.eval_count !== 12 || !r.response.length) return JSON.stringify(r);
  return ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'].every((k) => isNs(r[k])) || 'durations';
});
await check('ollama_generate_stream', async () => {
  let text = '', last = null, n = 0;
  for await (const c of await ollama.generate({ model: story, prompt: 'Once upon a time', stream: true, options: opts })) {
    n++; text += c.response; last = c;
  }
  const whole = await ollama.generate({ model: story, prompt: 'Once upon a time', options: opts });
  if (!last.done || last.done_reason !== 'length') return JSON.stringify(last);
  return (n >= 2 && text === whole.response) || `stream "${text}" vs "${whole.response}" in ${n} chunks`;
});
await check('ollama_generate_fim_suffix', async () => {
  const r = await ollama.generate({ model: fim, prompt: 'def add(a, b):\n    ', suffix: '\n    return c\n', options: opts });
  return (r.done && r.prompt_eval_count > 4) || JSON.stringify(r);
});
await check('ollama_generate_suffix_unsupported', async () => {
  try { await ollama.generate({ model: story, prompt: 'a', suffix: 'b', options: opts }); return 'accepted'; } catch (e) {
    return (e.status_code === 400 && /insert|middle/.test(e.error)) || `${e.status_code} ${e.error}`;
  }
});
await check('ollama_chat', async () => {
  const r = await ollama.chat({ model: chatModel, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }], options: opts });
  return (r.message.role === 'assistant' && r.done && r.eval_count === 12) || JSON.stringify(r);
});
await check('ollama_chat_stream', async () => {
  let n = 0, last = null;
  for await (const c of await ollama.chat({ model: chatModel, messages: [{ role: 'user', content: 'Hi' }], stream: true, options: opts })) {
    n++; last = c;
    if (c.message.role !== 'assistant') return 'role';
  }
  return (last.done && n >= 2) || JSON.stringify(last);
});
await check('ollama_chat_tools', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
  const r = await ollama.chat({ model: chatModel, messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, options: opts });
  return r.done || JSON.stringify(r);
});
await check('ollama_embed', async () => {
  const r = await ollama.embed({ model: story, input: ['hello', 'world'] });
  if (r.embeddings.length !== 2 || r.embeddings[0].length < 8) return JSON.stringify(r).slice(0, 200);
  const norm = Math.hypot(...r.embeddings[0]);
  return Math.abs(norm - 1) < 1e-3 || `norm ${norm}`;
});
await check('ollama_embeddings_legacy', async () => {
  const r = await ollama.embeddings({ model: story, prompt: 'hello' });
  return r.embedding.length >= 8 || JSON.stringify(r).slice(0, 200);
});
await check('ollama_unknown_model', async () => {
  try { await ollama.generate({ model: 'no-such-model', prompt: 'x' }); return 'accepted'; } catch (e) {
    return (e.status_code === 404 && /not found/.test(e.error)) || `${e.status_code} ${e.error}`;
  }
});
await check('ollama_ps', async () => {
  const r = await ollama.ps();
  return r.models.some((m) => m.name === story && m.expires_at) || JSON.stringify(r);
});
await check('ollama_version', async () => (await ollama.version()).version.length > 0);

// ---------------- openai ----------------
await check('openai_models', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  return [story, fim].every((n) => ids.includes(n)) || `got ${ids}`;
});
await check('openai_chat', async () => {
  const r = await openai.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, temperature: 0 });
  const c = r.choices[0];
  if (c.message.role !== 'assistant' || c.finish_reason !== 'length') return JSON.stringify(r);
  return (r.usage.completion_tokens === 10 && r.usage.total_tokens === r.usage.prompt_tokens + 10) || JSON.stringify(r.usage);
});
await check('openai_chat_stream_usage', async () => {
  const s = await openai.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 10, stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, finish = null, first = true;
  for await (const c of s) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) {
      if (first && ch.delta.role !== 'assistant') return 'first delta has no role';
      first = false;
      text += ch.delta.content || '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  return (usage && usage.completion_tokens === 10 && finish === 'length') || `usage ${JSON.stringify(usage)} finish ${finish}`;
});
await check('openai_chat_tools_accepted', async () => {
  const tools = [{ type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } } }];
  const r = await openai.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Read a.txt' }], tools, max_tokens: 8 });
  return ['length', 'stop', 'tool_calls'].includes(r.choices[0].finish_reason) || JSON.stringify(r);
});
await check('openai_completions_suffix', async () => {
  const r = await openai.completions.create({ model: fim, prompt: 'def add(a, b):\n    ', suffix: '\n    return c\n', max_tokens: 8, temperature: 0 });
  return (r.object === 'text_completion' && r.usage.completion_tokens <= 8 && typeof r.choices[0].text === 'string') || JSON.stringify(r);
});
await check('openai_completions_stream', async () => {
  let n = 0;
  for await (const c of await openai.completions.create({ model: story, prompt: 'Once', max_tokens: 8, stream: true })) n += c.choices.length;
  return n >= 2 || `${n} chunks`;
});
await check('openai_embeddings_base64', async () => {
  // the client asks for base64 by default and decodes it
  const r = await openai.embeddings.create({ model: story, input: ['hello', 'there'] });
  if (r.data.length !== 2) return JSON.stringify(r).slice(0, 200);
  const v = r.data[0].embedding;
  return (v.length >= 8 && Math.abs(Math.hypot(...v) - 1) < 1e-3 && r.usage.prompt_tokens > 0) || `len ${v.length}`;
});
await check('openai_embeddings_float', async () => {
  const r = await openai.embeddings.create({ model: story, input: 'hello', encoding_format: 'float' });
  return r.data[0].embedding.length >= 8;
});
await check('openai_unknown_model', async () => {
  try { await openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }); return 'accepted'; } catch (e) {
    return (e.status === 404 && /not found/.test(e.message)) || `${e.status} ${e.message}`;
  }
});
await check('openai_bad_request', async () => {
  try { await openai.chat.completions.create({ model: story, messages: [{ role: 'user', content: 'x' }], n: 3 }); return 'accepted'; } catch (e) {
    return e.status === 400 || `${e.status} ${e.message}`;
  }
});

// ---------------- 8 clients streaming at once ----------------
await check('concurrent_8_streams', async () => {
  const one = async (i) => {
    let text = '', last = null;
    for await (const c of await ollama.generate({ model: story, prompt: `Story ${i}: once upon a time`, stream: true, options: { num_predict: 24, temperature: 0.7, seed: i } })) {
      text += c.response; last = c;
    }
    if (!last || !last.done || last.eval_count !== 24) throw new Error(`client ${i}: ${JSON.stringify(last)}`);
    return text;
  };
  const t0 = Date.now();
  const texts = await Promise.all([...Array(8).keys()].map(one));
  return texts.every((t) => t.length > 0) || `empty output after ${Date.now() - t0} ms`;
});
await check('concurrent_mixed_apis', async () => {
  const a = [...Array(4).keys()].map((i) => openai.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: `q${i}` }], max_tokens: 6 }));
  const b = [...Array(4).keys()].map((i) => ollama.chat({ model: chatModel, messages: [{ role: 'user', content: `q${i}` }], options: { num_predict: 6 } }));
  const r = await Promise.all([...a, ...b]);
  return r.length === 8;
});
process.exit(failed ? 1 : 0);
