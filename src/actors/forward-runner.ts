/**
 * Running a model's forward program on a worker, step by step, recording each step on
 * the autograd tape exactly as a `command` would be recorded.
 *
 * Each step's output becomes a *transient* store entry — never added to the store —
 * so the tape can refer to it like to any computed tensor (`recordCall` resolves
 * references through entries). The output of the last step is the result; the other
 * outputs are disposed when the run ends: the tape keeps its own snapshots and shares,
 * so backward() can still replay the whole program from the parameters.
 */
import * as tf from '@tensorflow/tfjs';
import { type Arg, type ForwardArg, type ForwardProgram, forwardFailed, formatForwardStep, isPublicFacts, isTensor } from '../messages/index.js';
import type { OpRunner } from './compute/op-runner.js';
import { isTracked, recordCall, type TapeRef } from './autograd.js';
import type { StoreEntry } from './object-store.js';
import { PUBLIC_LABEL } from './privacy/label.js';


export interface ForwardOutput {
  value: tf.Tensor;
  /** How to recompute the output for backward(): set when the input or a parameter tracks gradients. */
  tape?: TapeRef;
}

export interface ForwardRun {
  worker: string;
  modelId: string;
  program: ForwardProgram;
  /** The parameter entries, in program order (their values are tensors: the caller checked). */
  params: readonly StoreEntry[];
  input: StoreEntry;
  /** How each op runs (the worker's rules: budget, argument kinds, private inputs). */
  runner: OpRunner;
}

// Reference names used only inside one run, to hand the tape `{ref}` arguments.
const INPUT = 'x';
const paramRef = (i: number) => `p${i}`;
const stepRef = (i: number) => `s${i}`;

function transient(id: string, value: tf.Tensor, tape: TapeRef | undefined): StoreEntry {
  return { id, value, requiresGrad: false, tape, label: PUBLIC_LABEL, tags: [] };
}

/** Runs the program; throws ForwardFailedError (naming the step) when an op fails. Frees everything but the output. */
export function runForward(run: ForwardRun): ForwardOutput {
  const { program, params, input } = run;
  const steps: StoreEntry[] = [];
  const entryOf = (ref: string): StoreEntry => {
    if (ref === INPUT) return input;
    const i = Number(ref.slice(1));
    return ref[0] === 'p' ? params[i] : steps[i];
  };
  // Each argument as the op takes it (tensors in place of references), and as the tape records it.
  const resolveArg = (arg: ForwardArg, used: StoreEntry[]): { value: unknown; wire: Arg } => {
    if (Array.isArray(arg)) {
      const parts = arg.map((a) => resolveArg(a, used));
      return { value: parts.map((p) => p.value), wire: parts.map((p) => p.wire) };
    }
    if (arg === null || typeof arg !== 'object') return { value: arg, wire: arg };
    const ref = 'input' in arg ? INPUT : 'param' in arg ? paramRef(arg.param) : stepRef(arg.step);
    const entry = entryOf(ref);
    used.push(entry);
    return { value: entry.value, wire: { ref } };
  };
  let output: StoreEntry | undefined;
  try {
    for (let i = 0; i < program.steps.length; i++) {
      const { op, args } = program.steps[i];
      const used: StoreEntry[] = [];
      const resolved = (args as ForwardArg[]).map((a) => resolveArg(a, used));
      let value: tf.Tensor | tf.Tensor[];
      try {
        value = tf.tidy(() => run.runner(op, resolved.map((r) => r.value)));
      } catch (error) {
        if (isPublicFacts(error)) throw error;
        throw forwardFailed(run.worker, run.modelId, program.name, i, formatForwardStep(program, i), error);
      }
      if (!isTensor(value)) {
        if (Array.isArray(value)) tf.dispose(value);
        throw forwardFailed(run.worker, run.modelId, program.name, i, formatForwardStep(program, i), 'the op did not return one tensor');
      }
      const tracked = used.some(isTracked);
      const tape = tracked ? recordCall(op, resolved.map((r) => r.wire), 1, false, entryOf)[0] : undefined;
      steps.push(transient(stepRef(i), value, tape));
    }
    output = steps[steps.length - 1];
    return { value: output.value as tf.Tensor, tape: output.tape };
  } finally {
    // The output's value and tape share go to the caller; everything else is freed (also after a failure).
    for (const step of steps) {
      if (step === output) continue;
      (step.value as tf.Tensor).dispose();
      step.tape?.call.release();
    }
  }
}
