/**
 * The experiment-file loader rewords zod's issues as "expected …, found …" with the line and
 * field; a message the schema wrote itself (why a value is the only choice, what to use
 * instead) must survive that rewording, and zod's default wording must not be repeated.
 */
import test from 'ava';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { describeIssues } from '../src/scenario/document-errors.js';

function problems(schema: z.ZodType, text: string): string[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const data = doc.toJS();
  const parsed = schema.safeParse(data);
  if (parsed.success) return [];
  return describeIssues(parsed.error, data, { file: 'x.yaml', doc, lines, schema });
}

const Schema = z
  .object({
    mechanism: z.literal('skellam', { error: "only 'skellam' is built" }).optional(),
    kind: z.literal('a').optional(),
    count: z.number({ error: 'count is how many clients' }).optional(),
    size: z.number().optional(),
    mode: z.enum(['p', 'q'], { error: "use 'p' unless the clients are trusted" }).optional(),
    plain: z.enum(['p', 'q']).optional(),
  })
  .strict();

test("a schema's own message is kept after the loader's expected/found", (t) => {
  t.deepEqual(problems(Schema, 'mechanism: ddg\n'), [`x.yaml:1:12: at mechanism: expected "skellam", found "ddg" (a string): only 'skellam' is built`]);
  t.deepEqual(problems(Schema, 'count: many\n'), ['x.yaml:1:8: at count: expected a number, found "many" (a string): count is how many clients']);
  t.deepEqual(problems(Schema, 'mode: r\n'), [`x.yaml:1:7: at mode: expected one of "p", "q", found "r" (a string): use 'p' unless the clients are trusted`]);
});

test("zod's default wording is not repeated after expected/found", (t) => {
  t.deepEqual(problems(Schema, 'kind: b\n'), ['x.yaml:1:7: at kind: expected "a", found "b" (a string)']);
  t.deepEqual(problems(Schema, 'size: big\n'), ['x.yaml:1:7: at size: expected a number, found "big" (a string)']);
  t.deepEqual(problems(Schema, 'plain: r\n'), ['x.yaml:1:8: at plain: expected one of "p", "q", found "r" (a string)']);
});
