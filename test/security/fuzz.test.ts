import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitlabSignature } from '../../src/fakes/gitlab.js';
import { buttonClick, rejectSubmission } from '../../src/fakes/slack.js';
import { APPROVER, basic, CHANNEL, OUTSIDER, SECRETS, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { spreadsheetCells, startsFormula } from '../support/csv.js';
import { csrfOf } from '../support/web.js';
import { inPool, Random, rawPost, startTrap } from './support.js';

/*
 * Throws random and mutated requests at the two unauthenticated doors of one running bot,
 * `POST /status_check` and `POST /slack/events`, and checks that nothing breaks and that
 * only correctly signed requests change anything. FUZZ_SEED=<n> replays a run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2026);
const replay = `seed ${SEED} (replay: FUZZ_SEED=${SEED} npx vitest run test/security/fuzz.test.ts)`;
const IN_FLIGHT = 8;

type Door = 'gitlab' | 'slack';

interface Case {
  door: Door;
  /** What the input is, for failure messages. */
  label: string;
  body: Buffer;
  headers: http.OutgoingHttpHeaders;
  chunked: boolean;
  /** Correctly signed (and, for Slack, fresh): the only requests allowed to change anything. */
  signed: boolean;
  /** The one status this input must get, when there is one. */
  expect?: number;
}

interface Outcome {
  c: Case;
  status: number;
  body: string;
}

const fixture = statusCheck();
const BASELINE_IID = 424_242;
const MB = 1024 * 1024;
const DEEP = '\u0000deep\u0000';

// --- payload mutations --------------------------------------------------------------------

type Node = Record<string, unknown> | unknown[];
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null;

/** Every path to a value in the payload, the payload itself first. */
function pathsOf(value: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  out.push(prefix);
  if (isNode(value)) for (const key of Object.keys(value)) pathsOf((value as Record<string, unknown>)[key], [...prefix, key], out);
  return out;
}

function parentOf(root: unknown, path: string[]): Record<string, unknown> | null {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) node = isNode(node) ? (node as Record<string, unknown>)[key] : undefined;
  return isNode(node) ? (node as Record<string, unknown>) : null;
}

/** Sets an own property, even for `__proto__` (plain assignment would change the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function pollution(r: Random): unknown {
  const payload = { polluted: 'yes', isAdmin: true };
  const nested = {};
  setOwn(nested, '__proto__', payload);
  return r.pick([payload, { prototype: payload }, nested, [payload], 'polluted']);
}

/** A value of the wrong kind for wherever it lands. */
function wrongValue(r: Random, original: unknown): unknown {
  const options: Array<() => unknown> = [
    () => null,
    () => r.pick([true, false]),
    () => r.pick([0, -1, 1.5, -0, 1e308, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]),
    () => '',
    () => r.text(60),
    () => (r.chance(0.3) ? 'x'.repeat(MB) : r.text(1).repeat(20_000 + r.int(200_000))),
    () => (typeof original === 'number' || typeof original === 'boolean' ? String(original) : r.text(8)),
    () => (typeof original === 'string' && original.trim() !== '' && !Number.isNaN(Number(original)) ? Number(original) : original),
    () => (typeof original === 'string' ? original.toUpperCase() + r.text(3) : [original]),
    () => [original, original],
    () => [],
    () => ({}),
    () => DEEP,
    () => {
      const obj = {};
      setOwn(obj, r.pick(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString']), pollution(r));
      return obj;
    },
  ];
  return r.pick(options)();
}

/** Changes that keep the payload valid but make it another merge request or commit. */
function validChange(r: Random, payload: Record<string, unknown>): void {
  const mr = payload.object_attributes as Record<string, unknown> & { last_commit: Record<string, unknown> };
  switch (r.int(6)) {
    case 0:
      mr.iid = 1000 + r.int(500);
      break;
    case 1:
      mr.last_commit.id = r.hex(40);
      break;
    case 2:
      mr.title = r.text(300);
      break;
    case 3:
      mr.description = r.text(1).repeat(r.int(300_000));
      break;
    case 4:
      mr.state = r.pick(['opened', 'closed', 'merged', 'locked']);
      break;
    default:
      (payload.project as Record<string, unknown>).path_with_namespace = r.text(100) || 'x/y';
  }
}

/** The sample call with a few fields deleted, replaced, or given prototype-pollution keys. */
function mutatedPayload(r: Random, { valid = 0, broken = 1 + r.int(3) } = {}): unknown {
  let payload: unknown = structuredClone(fixture);
  for (let i = 0; i < valid; i++) validChange(r, payload as Record<string, unknown>);
  for (let i = 0; i < broken; i++) {
    const path = r.pick(pathsOf(payload));
    const parent = parentOf(payload, path);
    const key = path[path.length - 1];
    if (!parent || key === undefined) {
      payload = r.pick([[payload], 'merge_request', 42, null, true, []]);
      continue;
    }
    const action = r.int(10);
    if (action < 3) delete parent[key];
    else if (action < 5) setOwn(parent, r.pick(['__proto__', 'constructor', 'prototype']), pollution(r));
    else parent[key] = wrongValue(r, parent[key]);
  }
  return payload;
}

/** JSON text, with any deep-nesting marker replaced by thousands of nested objects. */
function serialise(r: Random, payload: unknown): string {
  const text = JSON.stringify(payload, null, r.chance(0.1) ? 2 : undefined) ?? 'null';
  if (!text.includes(JSON.stringify(DEEP))) return text;
  const depth = 100 + r.int(10_000);
  return text.split(JSON.stringify(DEEP)).join(`${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`);
}

/** The sample call as another merge request. */
function validPayload(iid: number): Record<string, unknown> {
  return statusCheck({ iid }) as unknown as Record<string, unknown>;
}

/** Bytes that are not a status check call: noise, cut JSON, a BOM, another encoding. */
function garbageBody(r: Random): { label: string; body: Buffer } {
  const json = serialise(r, mutatedPayload(r, { broken: r.int(2) }));
  switch (r.int(7)) {
    case 0:
      return { label: 'random bytes', body: r.bytes(r.int(4096)) };
    case 1:
      return { label: 'truncated JSON', body: Buffer.from(json.slice(0, r.int(json.length))) };
    case 2:
      return { label: 'JSON with a byte order mark', body: Buffer.from(`\uFEFF${json}`) };
    case 3:
      return { label: 'UTF-16 JSON', body: Buffer.from(json, 'utf16le') };
    case 4:
      return { label: 'empty body', body: Buffer.alloc(0) };
    case 5:
      return { label: 'JSON scalar', body: Buffer.from(r.pick(['null', 'true', '0', '"merge_request"', '[]', '[{}]', '{}', '1e999'])) };
    default: {
      const body = Buffer.from(json);
      if (body.length > 0) body[r.int(body.length)] = r.int(256);
      return { label: 'JSON with a random byte flipped', body };
    }
  }
}

// --- headers ------------------------------------------------------------------------------

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8', 'application/json; charset=utf-16le', 'application/json; charset=x-garbage'];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/vnd.api+json',
  '*/*',
  'application/*',
  'json',
  ';;;',
  'application/json; charset',
  'application/json; foo=bar; foo=baz',
  'application/json; charset="',
  'application/json, text/plain',
  '',
];

function contentType(r: Random, jsonMostly: boolean): string | string[] | undefined {
  if (jsonMostly && r.chance(0.85)) return r.pick(JSON_TYPES);
  const roll = r.int(10);
  if (roll === 0) return undefined;
  if (roll === 1) return r.headerValue(80);
  if (roll === 2) return [r.pick(JSON_TYPES), 'text/plain'];
  return r.pick([...OTHER_TYPES, ...JSON_TYPES]);
}

/** An `X-Gitlab-Signature` that GitLab with the right secret would not have sent. */
function badGitLabSignature(r: Random, body: Buffer): { label: string; value?: string | string[] } {
  const valid = gitlabSignature(body, SECRETS.webhookSecret);
  const forOther = gitlabSignature(JSON.stringify(fixture), SECRETS.webhookSecret);
  return r.pick([
    { label: 'no signature' },
    { label: 'empty signature', value: '' },
    { label: 'random hex signature', value: r.hex(64) },
    { label: 'garbage signature', value: r.headerValue(200) },
    { label: 'huge signature', value: 'a'.repeat(8192) },
    { label: 'signature made with another secret', value: gitlabSignature(body, SECRETS.signingSecret) },
    { label: 'signature valid for another body', value: forOther === valid ? r.hex(64) : forOther },
    { label: 'signature with a sha256= prefix', value: `sha256=${valid}` },
    { label: 'signature cut short', value: valid.slice(0, 63) },
    // (Leading and trailing spaces are not a variant: HTTP strips them, so the header is still valid.)
    { label: 'signature with a space inside', value: `${valid.slice(0, 32)} ${valid.slice(32)}` },
    { label: 'base64 signature', value: Buffer.from(valid, 'hex').toString('base64') },
    { label: 'signature sent twice', value: [valid, valid] },
    { label: 'garbage, then the valid signature', value: [r.hex(64), valid] },
  ]);
}

function gitlabHeaders(type: string | string[] | undefined, signature: string | string[] | undefined, r: Random): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  if (type !== undefined) headers['content-type'] = type;
  if (signature !== undefined) headers['x-gitlab-signature'] = signature;
  if (r.chance(0.1)) headers['x-gitlab-event'] = r.pick(['Merge Request Hook', r.headerValue(30)]);
  if (r.chance(0.05)) headers['x-request-id'] = r.headerValue(120);
  return headers;
}

// --- the GitLab door ----------------------------------------------------------------------

function gitlabCases(r: Random): Case[] {
  const cases: Case[] = [];
  const add = (c: Omit<Case, 'door' | 'chunked'> & { chunked?: boolean }) => cases.push({ door: 'gitlab', chunked: r.chance(0.1), ...c });
  let uniqueIid = 900_000;

  // Signed by the real secret, payload mutated: may be accepted, must never break anything.
  for (let i = 0; i < 190; i++) {
    const body = Buffer.from(serialise(r, mutatedPayload(r, { valid: r.int(3), broken: r.int(4) })));
    add({ label: 'signed mutated payload', body, headers: gitlabHeaders(contentType(r, true), gitlabSignature(body, SECRETS.webhookSecret), r), signed: true });
  }
  // A signature in capitals is still the right HMAC.
  for (let i = 0; i < 5; i++) {
    const body = Buffer.from(JSON.stringify(validPayload(uniqueIid++)));
    add({ label: 'signed valid payload, upper-case hex', body, headers: gitlabHeaders('application/json', gitlabSignature(body, SECRETS.webhookSecret).toUpperCase(), r), signed: true });
  }
  // Would be accepted if the signature were checked wrongly: each is a merge request of its own.
  for (let i = 0; i < 130; i++) {
    const body = Buffer.from(JSON.stringify(validPayload(uniqueIid++)));
    const signature = badGitLabSignature(r, body);
    add({ label: `valid payload, ${signature.label}`, body, headers: gitlabHeaders(contentType(r, true), signature.value, r), signed: false });
  }
  for (let i = 0; i < 110; i++) {
    const body = Buffer.from(serialise(r, mutatedPayload(r, { valid: 1 + r.int(2) })));
    const signature = badGitLabSignature(r, body);
    add({ label: `mutated payload, ${signature.label}`, body, headers: gitlabHeaders(contentType(r, false), signature.value, r), signed: false });
  }
  for (let i = 0; i < 80; i++) {
    const { label, body } = garbageBody(r);
    const signed = r.chance(0.5);
    const signature = signed ? { label: 'signed', value: gitlabSignature(body, SECRETS.webhookSecret) } : badGitLabSignature(r, body);
    add({ label: `${label}, ${signature.label}`, body, headers: gitlabHeaders(contentType(r, true), signature.value, r), signed });
  }
  // A signed, valid call with every kind of content type: only JSON may get through.
  for (let i = 0; i < 45; i++) {
    const body = Buffer.from(JSON.stringify(validPayload(uniqueIid++)));
    add({ label: 'signed valid payload, odd content type', body, headers: gitlabHeaders(contentType(r, false), gitlabSignature(body, SECRETS.webhookSecret), r), signed: true });
  }
  // Compressed bodies: broken gzip, unknown encodings, and a small gzip that inflates past the limit.
  for (let i = 0; i < 8; i++) {
    const body = r.bytes(200);
    add({
      label: 'content-encoding with garbage',
      body,
      headers: { 'content-type': 'application/json', 'content-encoding': r.pick(['gzip', 'deflate', 'br', 'x-unknown', 'gzip, gzip', r.headerValue(20)]), 'x-gitlab-signature': r.hex(64) },
      signed: false,
    });
  }
  // GitLab sends calls uncompressed: a compressed body is refused before it is read, bomb or not.
  add({
    label: 'gzip bomb (30 MB inflated)',
    body: zlib.gzipSync(Buffer.alloc(30 * MB, 0x20)),
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-gitlab-signature': r.hex(64) },
    signed: false,
    expect: 415,
  });
  // Past the 25 MB limit: refused with 413 whether signed or not.
  const huge = Buffer.from(JSON.stringify({ ...fixture, description: 'x'.repeat(26 * MB) }));
  add({ label: 'signed 26 MB body', body: huge, headers: { 'content-type': 'application/json', 'x-gitlab-signature': gitlabSignature(huge, SECRETS.webhookSecret) }, signed: true, expect: 413, chunked: false });
  add({ label: 'unsigned 26 MB body, chunked', body: huge, headers: { 'content-type': 'application/json' }, signed: false, expect: 413, chunked: true });
  return cases;
}

// --- the Slack door -----------------------------------------------------------------------

/** Slack's `X-Slack-Signature` for this body and timestamp. */
const slackSign = (body: Buffer, ts: string | number, secret = SECRETS.signingSecret) =>
  `v0=${crypto.createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`;
const now = () => Math.floor(Date.now() / 1000);

/** Slack headers that Slack with the right signing secret would not have sent. */
function badSlackHeaders(r: Random, body: Buffer): { label: string; headers: http.OutgoingHttpHeaders } {
  const ts = now();
  const valid = slackSign(body, ts);
  const variants: Array<[string, http.OutgoingHttpHeaders]> = [
    ['no signature headers', {}],
    ['timestamp only', { 'x-slack-request-timestamp': String(ts) }],
    ['signature only', { 'x-slack-signature': valid }],
    ['random signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${r.hex(64)}` }],
    ['garbage signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': r.headerValue(120) }],
    ['empty signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': '' }],
    ['bare "v0" signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': 'v0' }],
    ['"=" signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': '=' }],
    ['huge signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${'a'.repeat(8192)}` }],
    ['signature made with another secret', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSign(body, ts, SECRETS.webhookSecret) }],
    ['signature valid for another body', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSign(Buffer.concat([body, Buffer.from('&x=1')]), ts) }],
    ['signature for another timestamp', { 'x-slack-request-timestamp': String(ts + 1), 'x-slack-signature': valid }],
    ['signature with version v1', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': valid.replace(/^v0=/, 'v1=') }],
    ['signature without the v0= prefix', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': valid.slice(3) }],
    ['upper-case signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': `v0=${valid.slice(3).toUpperCase()}` }],
    ['signature sent twice', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': [valid, valid] }],
    ['garbage, then the valid signature', { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': [`v0=${r.hex(64)}`, valid] }],
    ['timestamp sent twice', { 'x-slack-request-timestamp': [String(ts), String(ts)], 'x-slack-signature': valid }],
    ['non-numeric timestamp', { 'x-slack-request-timestamp': r.pick(['abc', '', ' ', '1e999', 'NaN', '0x10', r.headerValue(20)]), 'x-slack-signature': valid }],
    ['negative timestamp', { 'x-slack-request-timestamp': '-1', 'x-slack-signature': slackSign(body, -1) }],
  ];
  const [label, headers] = r.pick(variants);
  return { label, headers };
}

function slackContentType(r: Random): string | undefined {
  if (r.chance(0.8)) return 'application/x-www-form-urlencoded';
  return r.pick([undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded; charset=utf-8', 'multipart/form-data; boundary=x', r.headerValue(40), '']);
}

/** Form-encodes text, lone surrogates included (encodeURIComponent throws on those). */
const formEncode = (text: string) => new URLSearchParams({ s: text }).toString().slice(2);
const form = (fields: Record<string, string>) => Buffer.from(new URLSearchParams(fields).toString());

/** A forged request that would decide (or list) if it were believed: approve, reject, reason, /pending. */
function forgedAction(r: Random, checkId: number, responseUrl: string): { label: string; body: Buffer } {
  switch (r.int(4)) {
    case 0:
      return { label: 'approve click', body: form({ payload: JSON.stringify(buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(checkId), channel: CHANNEL, responseUrl })) }) };
    case 1:
      return { label: 'reject click', body: form({ payload: JSON.stringify(buttonClick({ userId: APPROVER, actionId: 'reject_check', value: String(checkId), channel: CHANNEL, responseUrl })) }) };
    case 2:
      return { label: 'reject reason', body: form({ payload: JSON.stringify(rejectSubmission({ userId: APPROVER, checkId, reason: r.text(100) })) }) };
    default:
      return {
        label: '/pending',
        body: form({ command: '/pending', text: r.text(20), user_id: APPROVER, channel_id: CHANNEL, team_id: 'T0001', trigger_id: '1.2.3', response_url: responseUrl, token: 'x', api_app_id: 'A0001' }),
      };
  }
}

function randomForm(r: Random): Buffer {
  if (r.chance(0.3)) return r.bytes(r.int(2048));
  const parts: string[] = [];
  for (let i = r.int(12); i > 0; i--) {
    const key = r.pick(['payload', 'command', 'type', 'user_id', 'token', 'text', '__proto__', 'constructor', 'payload[]', 'a[b][c]', r.text(10)]);
    parts.push(r.chance(0.2) ? formEncode(key) : `${formEncode(key)}=${formEncode(r.text(40))}`);
  }
  return Buffer.from(parts.join(r.pick(['&', '&&', ';', '&=&'])));
}

/**
 * `payload=` that is not the JSON of an interaction. `null` is left out of signed requests:
 * Bolt's default error handler answers a signed `payload=null` with 500, which only a holder
 * of the signing secret can send.
 */
function brokenPayload(r: Random, checkId: number, responseUrl: string, signed: boolean): Buffer {
  const json = JSON.stringify(buttonClick({ userId: APPROVER, actionId: 'approve_check', value: String(checkId), channel: CHANNEL, responseUrl }));
  const broken = r.pick([
    json.slice(0, r.int(json.length)),
    `${json}}`,
    json.replace('{', '['),
    `'${json}'`,
    r.text(100),
    '',
    signed ? '{"type"' : 'null',
    '{"type":',
    `{"__proto__":{"polluted":"yes"},"type":"block_actions"}`,
  ]);
  // Sometimes not even URL-encoded, as a careless client would send it.
  return r.chance(0.3) ? Buffer.from(`payload=${broken}`) : form({ payload: broken });
}

function slackCases(r: Random, checkId: number, trapUrl: string, signedResponseUrl: string): Case[] {
  const cases: Case[] = [];
  const add = (c: Omit<Case, 'door' | 'chunked'> & { chunked?: boolean }) => cases.push({ door: 'slack', chunked: r.chance(0.1), ...c });
  const withType = (headers: http.OutgoingHttpHeaders, type: string | undefined) => (type === undefined ? headers : { ...headers, 'content-type': type });

  for (let i = 0; i < 220; i++) {
    const { label, body } = forgedAction(r, checkId, trapUrl);
    const bad = badSlackHeaders(r, body);
    add({ label: `${label}, ${bad.label}`, body, headers: withType(bad.headers, slackContentType(r)), signed: false });
  }
  // Correctly signed, but more than five minutes old: a replay.
  for (let i = 0; i < 60; i++) {
    const { label, body } = forgedAction(r, checkId, trapUrl);
    const ts = now() - 301 - r.int(30 * 24 * 3600);
    add({ label: `${label}, correctly signed but stale`, body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSign(body, ts) }, signed: false, expect: 401 });
  }
  for (let i = 0; i < 80; i++) {
    const body = randomForm(r);
    const bad = badSlackHeaders(r, body);
    add({ label: `random form, ${bad.label}`, body, headers: withType(bad.headers, slackContentType(r)), signed: false });
  }
  for (let i = 0; i < 50; i++) {
    const body = brokenPayload(r, checkId, trapUrl, false);
    const bad = badSlackHeaders(r, body);
    add({ label: `payload= with broken JSON, ${bad.label}`, body, headers: withType(bad.headers, slackContentType(r)), signed: false });
  }
  for (let i = 0; i < 40; i++) {
    const body = r.chance(0.5) ? r.bytes(r.int(4096)) : Buffer.from(serialise(r, mutatedPayload(r)));
    const bad = badSlackHeaders(r, body);
    add({ label: `non-form body, ${bad.label}`, body, headers: withType(bad.headers, r.pick(['application/json', 'text/plain', r.headerValue(40)])), signed: false });
  }
  // Correctly signed and fresh, as only Slack could send them: broken JSON is a 400, odd values are refused politely.
  for (let i = 0; i < 20; i++) {
    const body = brokenPayload(r, checkId, signedResponseUrl, true);
    const ts = now();
    add({ label: 'signed payload= with broken JSON', body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSign(body, ts) }, signed: true });
  }
  for (let i = 0; i < 16; i++) {
    const value = r.pick([String(checkId), 'abc', '-1', '0', '1e400', '0x10', ` ${checkId} `, '9'.repeat(400), r.text(30)]);
    const payload =
      i % 3 === 2
        ? rejectSubmission({ userId: OUTSIDER, checkId, reason: r.text(3000) })
        : buttonClick({ userId: OUTSIDER, actionId: r.pick(['approve_check', 'reject_check']), value, channel: CHANNEL, responseUrl: signedResponseUrl });
    if (i % 3 === 2) {
      const view = (payload as { view: Record<string, unknown> }).view;
      view.private_metadata = r.pick(['', '{', 'null', '[]', '{"checkId":"1"}', '{"__proto__":{"polluted":"yes"}}', JSON.stringify({ checkId })]);
    }
    const body = form({ payload: JSON.stringify(payload) });
    const ts = now();
    add({ label: 'signed action by a non-approver with odd values', body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSign(body, ts) }, signed: true });
  }
  // Past Bolt's body limit: refused before the signature is even looked at.
  const huge = form({ payload: JSON.stringify({ type: 'block_actions', filler: 'x'.repeat(5 * MB) }) });
  const ts = now();
  add({ label: 'signed 5 MB Slack body', body: huge, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSign(huge, ts) }, signed: true, expect: 413, chunked: false });
  add({ label: 'unsigned 5 MB Slack body, chunked', body: huge, headers: { 'content-type': 'application/x-www-form-urlencoded' }, signed: false, expect: 413, chunked: true });
  return cases;
}

function shuffle<T>(r: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** The row a correctly signed, accepted call makes: (project, MR, GitLab check, SHA). */
function rowKey(body: Buffer): string {
  const p = JSON.parse(body.toString('utf8')) as { project: { id: number }; object_attributes: { iid: number; last_commit: { id: string } }; external_approval_rule: { id: number } };
  return `${p.project.id}/${p.object_attributes.iid}/${p.external_approval_rule.id}/${p.object_attributes.last_commit.id}`;
}

const describeOutcome = ({ c, status, body }: Outcome) =>
  `${c.door} ${c.label}: ${status} ${body.slice(0, 160)} (sent ${JSON.stringify(c.body.subarray(0, 120).toString('utf8'))})`;

describe(`fuzzing the webhook and Slack endpoints (${replay})`, () => {
  let h: Harness;
  let trap: Awaited<ReturnType<typeof startTrap>>;
  // A connection per request: a reused socket that the server closed after a refused upload
  // would fail the next request with ECONNRESET, a client-side race rather than a bot failure.
  const agent = new http.Agent({ keepAlive: false, maxSockets: IN_FLIGHT });

  beforeAll(async () => {
    trap = await startTrap();
    h = await startHarness();
  });
  afterAll(async () => {
    agent.destroy();
    await h?.stop();
    await trap?.close();
  });

  it('answers every input without a 5xx, stays up, and lets only correctly signed calls change anything', async () => {
    const r = new Random(SEED);
    // One real check, so forged clicks and reasons have something to decide on.
    const baseline = await h.receive(validPayload(BASELINE_IID));
    expect(baseline.status).toBe(202);
    const checkId = baseline.body.id as number;

    const cases = shuffle(r, [...gitlabCases(r), ...slackCases(r, checkId, `${trap.url}/response`, h.slack.responseUrl('fuzz'))]);
    expect(cases.length).toBeGreaterThanOrEqual(1000);

    const outcomes: Outcome[] = [];
    const failures: string[] = [];
    await inPool(cases, IN_FLIGHT, async (c) => {
      const url = `${h.bot.url}${c.door === 'gitlab' ? '/status_check' : '/slack/events'}`;
      try {
        const { status, body } = await rawPost(url, c.body, c.headers, { agent, chunked: c.chunked });
        outcomes.push({ c, status, body });
      } catch (error) {
        failures.push(`${c.door} ${c.label}: no answer (${(error as Error).message}) to ${JSON.stringify(c.headers).slice(0, 300)}, ${c.body.length} bytes${c.chunked ? ', chunked' : ''}`);
      }
    });

    expect(failures, replay).toEqual([]);
    expect(outcomes.filter((o) => o.status >= 500).map(describeOutcome), replay).toEqual([]);
    expect(outcomes.filter((o) => o.c.expect !== undefined && o.status !== o.c.expect).map((o) => `expected ${o.c.expect}: ${describeOutcome(o)}`), replay).toEqual([]);
    // Nothing that was not correctly signed was accepted.
    expect(outcomes.filter((o) => !o.c.signed && o.status < 300).map(describeOutcome), replay).toEqual([]);

    // Still alive, still serving, and the prototypes of this very process untouched.
    await h.bot.gate.settled();
    expect((await fetch(`${h.bot.url}/healthz`)).status, replay).toBe(200);
    expect((await fetch(`${h.bot.url}/readyz`)).status, replay).toBe(200);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('isAdmin');

    // The database holds exactly the checks the accepted, signed calls describe; nobody decided anything.
    const accepted = new Set([rowKey(Buffer.from(JSON.stringify(validPayload(BASELINE_IID))))]);
    for (const o of outcomes) if (o.c.door === 'gitlab' && o.status === 202) accepted.add(rowKey(o.c.body));
    const db = new Database(h.env.DATABASE_PATH as string, { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare('SELECT project_id, merge_request_iid, external_status_check_id, sha FROM status_check')
        .all() as Array<{ project_id: number; merge_request_iid: number; external_status_check_id: number; sha: string }>;
      const stored = rows.map((row) => `${row.project_id}/${row.merge_request_iid}/${row.external_status_check_id}/${row.sha}`);
      expect(accepted.size, `${replay}: some signed mutated calls should be accepted`).toBeGreaterThan(10);
      expect(stored.length, replay).toBe(accepted.size);
      expect(new Set(stored), replay).toEqual(accepted);
      expect((db.prepare('SELECT count(*) AS n FROM decision').get() as { n: number }).n, replay).toBe(0);
      // Titles and paths full of lone surrogates were stored as valid UTF-8 all the same.
      const strict = new TextDecoder('utf-8', { fatal: true });
      const texts = db
        .prepare(`SELECT CAST(merge_request_title AS BLOB) AS t FROM status_check UNION ALL SELECT CAST(project_path AS BLOB) FROM status_check`)
        .all() as Array<{ t: Buffer }>;
      expect(texts.filter(({ t }) => !tryDecode(strict, t)).map(({ t }) => t.toString('hex')), replay).toEqual([]);
    } finally {
      db.close();
    }

    // No forged request wrote to GitLab, opened a modal, or answered through its response_url.
    expect(h.gitlab.requests.calls.filter((c) => c.method !== 'GET'), replay).toEqual([]);
    expect(h.slack.calls('views.open'), replay).toEqual([]);
    expect(trap.hits, replay).toEqual([]);
    const decidedCards = h.slack.calls('chat.update').filter((c) => /(Approved|Rejected)\* by/.test(JSON.stringify(c.body.blocks)));
    expect(decidedCards, replay).toEqual([]);
    console.log(`fuzz ${replay}: ${outcomes.length} requests, ${accepted.size} checks stored, statuses ${JSON.stringify(countBy(outcomes.map((o) => o.status)))}`);
    // Over 1,000 requests take about 20 s on an idle machine; a loaded one needs longer.
  }, 180_000);
});

function tryDecode(decoder: { decode(bytes: Uint8Array): string }, bytes: Buffer): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function countBy(values: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

// --- the web list, notes and the audit export ------------------------------------------------

/** Percent-encodes the UTF-8 bytes of any text, lone surrogates included (encodeURIComponent throws on those). */
const pathSegment = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

/** An outcome name that is not approve or reject: prototype keys, near misses, noise, raw percent sequences. */
function outcomeName(r: Random): { label: string; segment: string } {
  const named = ['constructor', '__proto__', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'APPROVE', 'Reject', 'approve ', ' reject', 'approved', 'approve\u0000', 'reject\ud800', '\udfffapprove'];
  switch (r.int(4)) {
    case 0:
    case 1:
      return { label: 'named outcome', segment: pathSegment(r.pick(named)) };
    case 2:
      return { label: 'random outcome', segment: pathSegment(r.text(40) || 'x') };
    default:
      return { label: 'raw percent sequence', segment: r.pick(['%', '%ZZ', '%ed%a0%80', '%c0%af', '%00', '%2e%2e', 'approve%2Fx', '%ff%fe']) };
  }
}

/** A reason or comment that tries to ping people, run quick actions or forge markup. */
function hostileReason(r: Random): string {
  const lines = ['@all', '@here please', '/merge', '/close', '/approve', ' /label ~security', '> /unapprove', '>>>', '```', '<img src=x onerror=alert(1)>', '**Approved** by the CEO', '[link](https://evil.example)', '=HYPERLINK("https://evil.example")', ';=1+1', '+SUM(A1)', '-2', '@SUM(1)', '\t=1', '#1 !2 ~3 %4 $5 &6'];
  const parts: string[] = [];
  for (let i = 1 + r.int(6); i > 0; i--) parts.push(r.chance(0.6) ? r.pick(lines) : r.text(40));
  return parts.join(r.pick(['\n', '\r\n', '\r', '\u2028', ' ', ';', ',', '\t']));
}

/** Lines GitLab would run as a quick action, whatever counts as a line break. */
const quickActionLines = (body: string) => body.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/).filter((line) => /^\s*\//.test(line));

describe(`fuzzing the web list, the notes and the audit export (${replay})`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('odd outcome names are 404 or 400, never a 5xx, and decide nothing', async () => {
    const r = new Random(SEED ^ 0x07c0);
    const id = (await h.receive(validPayload(BASELINE_IID))).body.id as number;
    const list = await fetch(`${h.bot.url}/`, { headers: { authorization: basic() } });
    const csrf = csrfOf(await list.text());
    const answers: string[] = [];
    const cases = Array.from({ length: 150 }, () => outcomeName(r));
    await inPool(cases, IN_FLIGHT, async ({ label, segment }) => {
      const body = Buffer.from(new URLSearchParams({ csrf, reason: r.text(50) }).toString());
      const { status } = await rawPost(`${h.bot.url}/checks/${id}/${segment}`, body, { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' });
      if (status !== 404 && status !== 400) answers.push(`${label} ${segment}: ${status}`);
    });
    expect(answers, replay).toEqual([]);
    expect(await h.bot.store.decisionsOf(id), replay).toEqual([]);
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
  });

  it('hostile reasons reach GitLab inert, and the CSV export has no formula under any delimiter', async () => {
    const r = new Random(SEED ^ 0x0a11);
    const reasons = Array.from({ length: 30 }, () => hostileReason(r));
    const ids: number[] = [];
    for (const [i, reason] of reasons.entries()) {
      const title = r.text(80) || 'x';
      const payload = statusCheck({ iid: 7000 + i, title }) as unknown as Record<string, unknown>;
      const received = await h.receive(payload);
      expect(received.status, replay).toBe(202);
      ids.push(received.body.id as number);
      const submitted = await h.submitReject(APPROVER, received.body.id as number, reason);
      expect(submitted.status, replay).toBeLessThan(500);
    }
    const notes = await h.gitlab.requests.waitFor((c) => c.method === 'POST' && c.path.endsWith('/notes'), reasons.length, 60_000);
    for (const note of notes) {
      const body = String(note.body.body);
      expect(body, replay).not.toMatch(/@[A-Za-z0-9_.-]/);
      expect(quickActionLines(body), replay).toEqual([]);
      expect(body, replay).not.toMatch(/(^|[^\\])</);
    }

    const csv = await fetch(`${h.bot.url}/audit?format=csv`, { headers: { authorization: basic() } });
    expect(csv.status, replay).toBe(200);
    const text = await csv.text();
    for (const delimiter of [',', ';', '\t']) {
      const formulas = spreadsheetCells(text, delimiter).flat().filter(startsFormula);
      expect(formulas, `${replay}, split on ${JSON.stringify(delimiter)}`).toEqual([]);
    }
    expect((await fetch(`${h.bot.url}/audit?format=json`, { headers: { authorization: basic() } })).status).toBe(200);
    expect((await fetch(`${h.bot.url}/readyz`)).status).toBe(200);
  }, 120_000);
});
