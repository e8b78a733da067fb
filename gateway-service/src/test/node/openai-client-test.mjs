// Drives a running Ferret Stream gateway with the official `openai` npm client, unchanged, and
// prints one JSON line per call with what the client got. Used by launcher OpenAiClientIT; also
// runs by hand against `./ferret up`:
//
//   npm ci --prefix gateway-service/src/test/node
//   node gateway-service/src/test/node/openai-client-test.mjs http://localhost:8080 picture.png [x1,y1,x2,y2] [http-image-url] [x1,y1,x2,y2]
//
// Arguments (or environment): the gateway URL (FERRET_BASE_URL; "/v1" is appended when missing),
// a PNG or JPEG file (FERRET_IMAGE), optionally a region on the 0..999 grid (FERRET_REGION) for
// the non-streamed question ("-" for none), and optionally an http(s) URL of the same picture
// that the gateway may fetch (FERRET_REMOTE_IMAGE; "-" for none), and optionally a second region
// (FERRET_SECOND_REGION) for the region follow-up. The API key is OPENAI_API_KEY when set (the
// gateway needs one only when ferret.auth.api-keys is set).
//
// Calls, in order: models.list; a streamed grounded question (`grounding: true` rides in the body
// as an extra field, `stream_options.include_usage`); a non-streamed question; with a remote URL,
// a grounded question about the picture at that URL; a data URL whose bytes are not an image,
// non-streamed and streamed; an http image URL on 127.0.0.2, which the gateway's SSRF guard
// refuses (loopback). Then conversations (docs/conversations.md): "Where is the red object?" and,
// with that turn as history, "And the blue one?"; with both regions, a region question and, with
// it as history, "And this one? [second region] <region_fea>"; and a conversation whose history is
// longer than the model's context (400 context_length_exceeded). Exit status 0 when every call
// behaved as a client can handle (expected errors are caught and printed); 1 when something
// unexpected was thrown.

import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import OpenAI from 'openai';

const [baseArg, imageArg, regionArg, remoteArg, secondRegionArg] = process.argv.slice(2);
const base = baseArg ?? process.env.FERRET_BASE_URL;
const imagePath = imageArg ?? process.env.FERRET_IMAGE;
const regionValue = regionArg ?? process.env.FERRET_REGION;
const region = regionValue && regionValue !== '-' ? regionValue : null;
const remoteValue = remoteArg ?? process.env.FERRET_REMOTE_IMAGE;
const remoteImage = remoteValue && remoteValue !== '-' ? remoteValue : null;
const secondRegionValue = secondRegionArg ?? process.env.FERRET_SECOND_REGION;
const secondRegion = secondRegionValue && secondRegionValue !== '-' ? secondRegionValue : null;
if (!base || !imagePath) {
  console.error('usage: node openai-client-test.mjs <gateway-url> <image-file> [x1,y1,x2,y2]');
  process.exit(2);
}
const baseURL = base.replace(/\/+$/, '').endsWith('/v1') ? base.replace(/\/+$/, '') : `${base.replace(/\/+$/, '')}/v1`;
const mediaType = extname(imagePath).toLowerCase() === '.png' ? 'image/png' : 'image/jpeg';
const imageUrl = `data:${mediaType};base64,${readFileSync(imagePath).toString('base64')}`;
const notAnImage = `data:image/png;base64,${Buffer.from('this is not an image').toString('base64')}`;

const client = new OpenAI({
  baseURL,
  apiKey: process.env.OPENAI_API_KEY || 'ferret-local',
  maxRetries: 0,
  timeout: 120_000,
});

const print = (record) => console.log(JSON.stringify(record));
let unexpected = 0;

function userMessage(text, url) {
  return [{ role: 'user', content: [{ type: 'text', text }, { type: 'image_url', image_url: { url } }] }];
}

/** What the client exposes of an error it threw. */
function describe(error) {
  return {
    class: error?.constructor?.name,
    status: error?.status ?? null,
    type: error?.type ?? null,
    code: error?.code ?? null,
    param: error?.param ?? null,
    message: error?.message ?? String(error),
    body: error?.error ?? null,
  };
}

async function call(name, fn) {
  try {
    print({ call: name, ...(await fn()) });
  } catch (error) {
    unexpected++;
    print({ call: name, unexpected: describe(error) });
  }
}

/** Runs fn, which must throw an APIError; prints what the client caught. */
async function expectError(name, fn) {
  try {
    const result = await fn();
    unexpected++;
    print({ call: name, unexpected: { message: 'no error was thrown', result } });
  } catch (error) {
    if (error instanceof OpenAI.APIError) {
      print({ call: name, caught: describe(error) });
    } else {
      unexpected++;
      print({ call: name, unexpected: describe(error) });
    }
  }
}

await call('models', async () => {
  const page = await client.models.list();
  return { ids: page.data.map((m) => m.id), owned_by: page.data.map((m) => m.owned_by) };
});
const model = (await client.models.list().catch(() => ({ data: [] }))).data[0]?.id ?? 'ferret-v2-dev';

await call('stream', async () => {
  const stream = await client.chat.completions.create({
    model,
    messages: userMessage('Where is the red object?', imageUrl),
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 64,
    grounding: true, // the gateway's extension; the client sends unknown body fields as they are
  });
  let content = '';
  let chunks = 0;
  let contentChunks = 0;
  let role = null;
  let finishReason = null;
  let usage = null;
  let id = null;
  const boxes = [];
  for await (const chunk of stream) {
    chunks++;
    id ??= chunk.id;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) continue;
    const delta = choice.delta ?? {};
    if (delta.role) role = delta.role;
    if (delta.content) {
      content += delta.content;
      contentChunks++;
    }
    if (Array.isArray(delta.boxes)) boxes.push(...delta.boxes);
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }
  return { id, model, role, content, chunks, content_chunks: contentChunks, boxes, finish_reason: finishReason, usage };
});

await call('complete', async () => {
  const question = region ? `What is in [${region}] <region_fea>?` : 'What colour is the largest object?';
  const completion = await client.chat.completions.create({
    model,
    messages: userMessage(question, imageUrl),
    max_tokens: 64,
  });
  const choice = completion.choices[0];
  return {
    id: completion.id,
    object: completion.object,
    question,
    content: choice.message.content,
    role: choice.message.role,
    boxes: choice.message.boxes ?? null,
    finish_reason: choice.finish_reason,
    usage: completion.usage,
  };
});

if (remoteImage) {
  await call('remote_image', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: userMessage('Where is the red object?', remoteImage),
      max_tokens: 64,
      grounding: true,
    });
    const choice = completion.choices[0];
    return {
      url: remoteImage,
      content: choice.message.content,
      boxes: choice.message.boxes ?? null,
      finish_reason: choice.finish_reason,
    };
  });
}

await expectError('bad_image', () =>
  client.chat.completions.create({ model, messages: userMessage('What is this?', notAnImage), max_tokens: 16 }),
);

await expectError('bad_image_stream', async () => {
  const stream = await client.chat.completions.create({
    model,
    messages: userMessage('What is this?', notAnImage),
    max_tokens: 16,
    stream: true,
  });
  const seen = [];
  for await (const chunk of stream) seen.push(chunk);
  return { chunks: seen.length };
});

await expectError('remote_image_refused', () =>
  client.chat.completions.create({
    model,
    messages: userMessage('What is this?', 'http://127.0.0.2:9/cat.png'),
    max_tokens: 16,
  }),
);

// Conversations: the client sends the whole history each time, the image in the first user turn.
function conversation(turns, question) {
  const messages = [];
  turns.forEach(([user, assistant], i) => {
    messages.push(
      i === 0
        ? { role: 'user', content: [{ type: 'image_url', image_url: { url: imageUrl } }, { type: 'text', text: user }] }
        : { role: 'user', content: user },
    );
    messages.push({ role: 'assistant', content: assistant });
  });
  messages.push(
    turns.length === 0
      ? { role: 'user', content: [{ type: 'image_url', image_url: { url: imageUrl } }, { type: 'text', text: question }] }
      : { role: 'user', content: question },
  );
  return messages;
}

async function ask(turns, question, extra = {}) {
  const completion = await client.chat.completions.create({
    model,
    messages: conversation(turns, question),
    max_tokens: 64,
    ...extra,
  });
  const choice = completion.choices[0];
  return {
    question,
    history_turns: turns.length,
    content: choice.message.content,
    boxes: choice.message.boxes ?? null,
    finish_reason: choice.finish_reason,
    usage: completion.usage,
  };
}

let firstAnswer = null;
await call('conversation_where', async () => {
  const result = await ask([], 'Where is the red object?', { grounding: true });
  firstAnswer = result.content;
  return result;
});

await call('conversation_follow_up', () =>
  ask([['Where is the red object?', firstAnswer ?? '']], 'And the blue one?', { grounding: true }),
);

if (region && secondRegion) {
  const regionQuestion = `What is in [${region}] <region_fea>?`;
  let regionAnswer = null;
  await call('region_turn', async () => {
    const result = await ask([], regionQuestion);
    regionAnswer = result.content;
    return result;
  });
  await call('region_follow_up', () =>
    ask([[regionQuestion, regionAnswer ?? '']], `And this one? [${secondRegion}] <region_fea>`),
  );
}

// 7000 words of history: more than the model's context (8192 tokens by default) with the image
await expectError('context_too_long', () =>
  client.chat.completions.create({
    model,
    messages: conversation([['a '.repeat(7000).trim(), 'ok']], 'And now?'),
    max_tokens: 1024,
  }),
);

print({ call: 'done', unexpected });
process.exit(unexpected === 0 ? 0 : 1);
