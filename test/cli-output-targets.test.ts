/**
 * What an output's final name may be (src/cli/run-outputs.ts): the outputs are written as
 * `<name>.partial` and renamed over `<name>`, so a name that is not a regular file must
 * never be renamed over —
 *   - a device (a copy of /dev/null, made with mknod when the tests run as root), a fifo,
 *     a socket: refused with a usage error naming the flag, before anything runs; the
 *     special file stays as it was;
 *   - a symbolic link (to a file, to a link, to a file that does not exist yet, to a
 *     device): followed, the outputs written beside and renamed onto the target, so the
 *     link stays a link; a link to a device is refused like the device.
 * Real /dev entries are never touched: every special file is made in a temporary directory.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { prepareRunOutputs } from '../src/cli/run-outputs.js';
import { tempDir } from './helpers/fedsim-cli.js';

const flags = (out: string, record?: string) => ({ out: `--out ${out}`, record: record === undefined ? undefined : `--record ${record}` });

/** Writes the three .partial files and commits them, as `fedsim run` does at its end. */
function completeRun(outDir: string, log: string, content: string) {
  const outputs = prepareRunOutputs(outDir, log, flags(outDir, log));
  for (const file of Object.values(outputs.partial)) writeFileSync(file, content);
  outputs.commit();
  return outputs;
}

test('a device, a fifo or a socket as --record or as an output in --out is refused before the run, and stays as it was', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  mkdirSync(out);
  const specials: Array<[string, RegExp]> = [];
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  specials.push([fifo, /is a fifo \(named pipe\), not a regular file/]);
  const socketPath = join(dir, 'sock');
  const server = createServer();
  await new Promise<void>((done) => server.listen(socketPath, done));
  t.teardown(() => server.close());
  specials.push([socketPath, /is a socket, not a regular file/]);
  if (process.getuid?.() === 0) {
    const device = join(dir, 'null-copy');
    execFileSync('mknod', ['-m', '666', device, 'c', '1', '3']); // a copy of /dev/null, in the temporary directory
    specials.push([device, /is a device, not a regular file/]);
  } else {
    t.log('not root: the device case (mknod) is skipped');
  }
  for (const [special, why] of specials) {
    const before = lstatSync(special);
    t.throws(() => prepareRunOutputs(out, special, flags(out, special)), { name: 'CliError', message: new RegExp(`^--record \\S+: \\S+ ${why.source}.*Give the path of a file`) }, special);
    const link = join(dir, `link-to-${special.split('/').pop()}`);
    symlinkSync(special, link);
    t.throws(() => prepareRunOutputs(out, link, flags(out, link)), { name: 'CliError', message: new RegExp(`\\(the target of the symbolic link \\S+link-to-\\S+\\) ${why.source}`) }, link);
    const after = lstatSync(special);
    t.is(after.mode, before.mode, `${special} is still what it was`);
    t.is(after.ino, before.ino);
  }
  // results.json (and report.html) in --out are renamed over the same way.
  const outWithFifo = join(dir, 'out-fifo');
  mkdirSync(outWithFifo);
  execFileSync('mkfifo', [join(outWithFifo, 'results.json')]);
  t.throws(() => prepareRunOutputs(outWithFifo, join(outWithFifo, 'run.jsonl'), flags(outWithFifo)), { name: 'CliError', message: /^--out \S+: \S+results\.json is a fifo/ });
  t.true(lstatSync(join(outWithFifo, 'results.json')).isFIFO());
});

test('a symbolic link as --record or as an output in --out stays a link: the outputs replace the file it points to', (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  mkdirSync(join(dir, 'real'));
  // A link to a file, a link to that link (relative), and a link to a file not made yet.
  writeFileSync(join(dir, 'real', 'kept.jsonl'), 'earlier run');
  symlinkSync(join(dir, 'real', 'kept.jsonl'), join(dir, 'link1'));
  symlinkSync('link1', join(dir, 'link2'));
  symlinkSync(join(dir, 'real', 'not-yet', 'new.jsonl'), join(dir, 'dangling'));
  for (const [link, target] of [
    ['link1', 'real/kept.jsonl'],
    ['link2', 'real/kept.jsonl'],
    ['dangling', 'real/not-yet/new.jsonl'],
  ]) {
    const outputs = completeRun(out, join(dir, link), `run through ${link}`);
    t.is(outputs.log, join(dir, target));
    t.is(outputs.partial.log, join(dir, `${target}.partial`), 'the .partial file is written beside the target, so the rename stays in its directory');
    t.true(lstatSync(join(dir, link)).isSymbolicLink(), `${link} is still a link`);
    t.is(readFileSync(join(dir, link), 'utf8'), `run through ${link}`);
  }
  t.is(readlinkSync(join(dir, 'link2')), 'link1');
  // results.json in --out as a link to a file elsewhere.
  const out2 = join(dir, 'out2');
  mkdirSync(out2);
  symlinkSync(join(dir, 'real', 'results-elsewhere.json'), join(out2, 'results.json'));
  const outputs = completeRun(out2, join(out2, 'run.jsonl'), '{}');
  t.is(outputs.results, join(dir, 'real', 'results-elsewhere.json'));
  t.true(lstatSync(join(out2, 'results.json')).isSymbolicLink());
  t.true(statSync(join(dir, 'real', 'results-elsewhere.json')).isFile());
  // A loop of links is refused, not followed forever.
  symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
  symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
  t.throws(() => prepareRunOutputs(out, join(dir, 'loop-a'), flags(out, 'loop-a')), { name: 'CliError', message: /symbolic link through more than 40 links \(a loop\?\)/ });
});

test("a leftover .partial is removed, never written through: a link (even a dangling one) named <output>.partial leaves its target alone", (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  mkdirSync(out);
  // Someone's file, and links named as the .partial files of the three outputs pointing at it (or nowhere yet).
  writeFileSync(join(dir, 'precious'), 'do not overwrite');
  symlinkSync(join(dir, 'precious'), join(out, 'run.jsonl.partial'));
  symlinkSync(join(dir, 'precious'), join(out, 'results.json.partial'));
  symlinkSync(join(dir, 'not-there-yet'), join(out, 'report.html.partial'));
  completeRun(out, join(out, 'run.jsonl'), 'the new run');
  t.is(readFileSync(join(dir, 'precious'), 'utf8'), 'do not overwrite');
  t.throws(() => statSync(join(dir, 'not-there-yet')), { code: 'ENOENT' }, 'the dangling link made no file at its target');
  for (const file of ['run.jsonl', 'results.json', 'report.html']) t.is(readFileSync(join(out, file), 'utf8'), 'the new run');
  // A .partial that is a directory is refused with what to do.
  mkdirSync(join(out, 'run.jsonl.partial'));
  t.throws(() => prepareRunOutputs(out, join(out, 'run.jsonl'), flags(out)), { name: 'CliError', message: /run\.jsonl\.partial is a directory; .* remove it/ });
});
