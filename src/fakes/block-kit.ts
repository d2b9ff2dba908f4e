/**
 * Slack's Block Kit limits, as the real service enforces them: a message or view that breaks
 * one is refused whole (`invalid_blocks`), nothing is shown. Each problem is reported the way
 * Slack's `response_metadata.messages` does, with a JSON pointer to the offending field.
 * Lengths count the characters as sent, so `&amp;` counts five.
 */

type Json = Record<string, unknown>;

/** A length rule on one field: `[field, min, max]`; min 0 means the field may be absent. */
type FieldRule = readonly [field: string, min: number, max: number];

export const LIMITS = {
  messageBlocks: 50,
  /**
   * A message's blocks as a whole, in characters of JSON. Slack documents no number and answers
   * `msg_blocks_too_long`; users measured about 12-13k, so the stand-in takes the low end.
   */
  messageChars: 12_000,
  viewBlocks: 100,
  privateMetadata: 3000,
  callbackId: 255,
} as const;

/** Text-object fields of each block type, and their lengths. */
const BLOCK_TEXT: Record<string, readonly FieldRule[]> = {
  section: [['text', 0, 3000]],
  header: [['text', 1, 150]],
  context: [],
  actions: [],
  divider: [],
  image: [['title', 0, 2000]],
  input: [['label', 1, 2000], ['hint', 0, 2000]],
};

/** Plain string fields of interactive elements, and their lengths. */
const ELEMENT_STRINGS: readonly FieldRule[] = [
  ['action_id', 0, 255],
  ['value', 0, 2000],
  ['url', 0, 3000],
];

/** Text-object fields of interactive elements, by element type. */
const ELEMENT_TEXT: Record<string, readonly FieldRule[]> = {
  button: [['text', 1, 75]],
  plain_text_input: [['placeholder', 0, 150]],
  static_select: [['placeholder', 0, 150]],
  users_select: [['placeholder', 0, 150]],
  datepicker: [['placeholder', 0, 150]],
  checkboxes: [],
  radio_buttons: [],
  overflow: [],
};

/** How many elements a block may hold. */
const ELEMENT_COUNT: Record<string, readonly [min: number, max: number]> = {
  actions: [1, 25],
  context: [1, 10],
};

/** Modal-only text fields. */
const VIEW_TEXT: readonly FieldRule[] = [
  ['title', 1, 24],
  ['submit', 0, 24],
  ['close', 0, 24],
];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function textProblem(value: unknown, pointer: string, min: number, max: number): string | null {
  if (value === undefined) return min > 0 ? `missing required field [json-pointer:${pointer}]` : null;
  if (!isObject(value) || (value.type !== 'plain_text' && value.type !== 'mrkdwn') || typeof value.text !== 'string') {
    return `must be a text object [json-pointer:${pointer}]`;
  }
  return lengthProblem(value.text, `${pointer}/text`, Math.max(min, 1), max);
}

function lengthProblem(text: string, pointer: string, min: number, max: number): string | null {
  // Slack counts characters, not UTF-16 units.
  const length = [...text].length;
  if (length < min) return `must be at least ${min} character(s) [json-pointer:${pointer}]`;
  if (length > max) return `must be less than ${max + 1} characters [json-pointer:${pointer}]`;
  return null;
}

function stringProblems(object: Json, rules: readonly FieldRule[], pointer: string): string[] {
  const out: string[] = [];
  for (const [field, min, max] of rules) {
    const value = object[field];
    if (value === undefined) {
      if (min > 0) out.push(`missing required field [json-pointer:${pointer}/${field}]`);
    } else if (typeof value !== 'string') {
      out.push(`must be a string [json-pointer:${pointer}/${field}]`);
    } else {
      const problem = lengthProblem(value, `${pointer}/${field}`, min, max);
      if (problem) out.push(problem);
    }
  }
  return out;
}

function textProblems(object: Json, rules: readonly FieldRule[], pointer: string): string[] {
  return rules.map(([field, min, max]) => textProblem(object[field], `${pointer}/${field}`, min, max)).filter((p): p is string => p !== null);
}

function elementProblems(element: unknown, pointer: string): string[] {
  if (!isObject(element) || typeof element.type !== 'string') return [`must be an element [json-pointer:${pointer}]`];
  const texts = ELEMENT_TEXT[element.type];
  if (!texts) return [`unsupported element type ${element.type} [json-pointer:${pointer}/type]`];
  return [...stringProblems(element, ELEMENT_STRINGS, pointer), ...textProblems(element, texts, pointer)];
}

function blockProblems(block: unknown, pointer: string): string[] {
  if (!isObject(block) || typeof block.type !== 'string') return [`must be a block [json-pointer:${pointer}]`];
  const texts = BLOCK_TEXT[block.type];
  if (!texts) return [`unsupported block type ${block.type} [json-pointer:${pointer}/type]`];
  const out = [...stringProblems(block, [['block_id', 0, 255]], pointer), ...textProblems(block, texts, pointer)];

  if (block.type === 'section') {
    const fields = block.fields;
    if (block.text === undefined && fields === undefined) out.push(`a section needs text or fields [json-pointer:${pointer}]`);
    if (fields !== undefined) {
      if (!Array.isArray(fields) || fields.length < 1 || fields.length > 10) out.push(`must hold 1 to 10 fields [json-pointer:${pointer}/fields]`);
      else fields.forEach((f, i) => {
        const p = textProblem(f, `${pointer}/fields/${i}`, 1, 2000);
        if (p) out.push(p);
      });
    }
    if (block.accessory !== undefined) out.push(...elementProblems(block.accessory, `${pointer}/accessory`));
  }

  const count = ELEMENT_COUNT[block.type];
  if (count) {
    const elements = block.elements;
    if (!Array.isArray(elements) || elements.length < count[0] || elements.length > count[1]) {
      out.push(`must hold ${count[0]} to ${count[1]} elements [json-pointer:${pointer}/elements]`);
    } else if (block.type === 'context') {
      elements.forEach((e, i) => {
        // Context holds text objects and images.
        if (isObject(e) && e.type === 'image') return;
        const p = textProblem(e, `${pointer}/elements/${i}`, 1, 3000);
        if (p) out.push(p);
      });
    } else {
      const ids = new Set<string>();
      elements.forEach((e, i) => {
        out.push(...elementProblems(e, `${pointer}/elements/${i}`));
        const id = isObject(e) ? e.action_id : undefined;
        if (typeof id === 'string') {
          if (ids.has(id)) out.push(`action_id ${id} is used twice in one block [json-pointer:${pointer}/elements/${i}/action_id]`);
          ids.add(id);
        }
      });
    }
  }
  if (block.type === 'input') out.push(...elementProblems(block.element, `${pointer}/element`));
  return out;
}

function blocksProblems(blocks: unknown, max: number, pointer: string): string[] {
  if (blocks === undefined) return [];
  if (!Array.isArray(blocks)) return [`must be an array of blocks [json-pointer:${pointer}]`];
  if (blocks.length > max) return [`must hold no more than ${max} blocks [json-pointer:${pointer}]`];
  return blocks.flatMap((b, i) => blockProblems(b, `${pointer}/${i}`));
}

/** Problems with a message's `blocks` (chat.postMessage, chat.update, chat.postEphemeral, response_url). */
export function messageProblems(blocks: unknown): string[] {
  return blocksProblems(blocks, LIMITS.messageBlocks, '/blocks');
}

/** Whether a message's blocks, each within its limits, are too long taken together. */
export function messageTooLong(blocks: unknown): boolean {
  return blocks !== undefined && JSON.stringify(blocks).length > LIMITS.messageChars;
}

/** Problems with a modal or Home tab (`views.open/push/update/publish`). */
export function viewProblems(view: unknown): string[] {
  if (!isObject(view)) return ['must be a view object [json-pointer:/view]'];
  if (view.type !== 'modal' && view.type !== 'home') return ['must be a modal or home view [json-pointer:/view/type]'];
  const out = [
    ...blocksProblems(view.blocks ?? [], LIMITS.viewBlocks, '/view/blocks'),
    ...stringProblems(view, [['private_metadata', 0, LIMITS.privateMetadata], ['callback_id', 0, LIMITS.callbackId]], '/view'),
  ];
  if (view.type === 'modal') out.push(...textProblems(view, VIEW_TEXT, '/view'));
  return out;
}
