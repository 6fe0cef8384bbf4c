#!/usr/bin/env node
// Latency of halfcast's built-in evaluator against ONNX Runtime (CPU, one thread each) on every
// model of tests/data/models, in one run, on the feeds of inputs.json (written by
// tests/integration/make_feeds.py). Prints a Markdown table for docs/performance.md.
//
//   node bench/eval_vs_ort.js --bench BUILD/bench/halfcast_bench_eval [--repeat 20]
//                             [--models tests/data/models] [--work DIR]
//
// Both sides set up once, untimed (ONNX Runtime creates its session, halfcast_bench_eval prepares
// the model with ReferenceEvaluator::Prepare), then get two untimed warm-up runs and --repeat
// timed runs: the median of the process CPU time per run (the steady figure on a shared machine:
// other processes stretch wall time, not CPU time) and the median and minimum wall time.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const ort = require(path.join(root, 'tests', 'integration', 'ort', 'node_modules',
                              'onnxruntime-node'));

function fail(message) {
  process.stderr.write(`eval_vs_ort: ${message}\n`);
  process.exit(2);
}

// The .npy types make_feeds.py writes.
const kNpyTypes = {
  '<f4': ['float32', Float32Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
};

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  const major = bytes[6];
  const headerStart = major === 1 ? 10 : 12;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  const type = descr && kNpyTypes[descr[1]];
  if (!type || !shape) fail(`${file}: unsupported .npy header ${header}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const data = new type[1](dims.reduce((a, b) => a * b, 1));
  const start = headerStart + headerLength;
  Buffer.from(data.buffer).set(bytes.subarray(start, start + data.byteLength));
  return new ort.Tensor(type[0], data, dims);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timeOrt(modelPath, feeds, repeat) {
  const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const wall = [];
  const cpu = [];
  for (let run = 0; run < repeat + 2; ++run) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const used = process.cpuUsage(cpuStart);
    if (run < 2) continue;
    wall.push(ms);
    cpu.push((used.user + used.system) / 1e3);
  }
  return {cpu: median(cpu), median: median(wall), min: Math.min(...wall)};
}

function timeHalfcast(bench, modelPath, inputArgs, repeat) {
  const result = childProcess.spawnSync(
      bench, [modelPath, ...inputArgs, '--repeat', String(repeat), '--threads', '1'],
      {encoding: 'utf8'});
  if (result.status !== 0) return {error: (result.stderr || '').trim() || `exit ${result.status}`};
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

async function main() {
  const args = {bench: null, repeat: 20, models: path.join(root, 'tests', 'data', 'models'),
                work: path.join(os.tmpdir(), 'halfcast_eval_vs_ort')};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || i + 1 >= argv.length) fail(`bad argument ${argv[i]}`);
    args[key] = key === 'repeat' ? Number(argv[i + 1]) : argv[i + 1];
  }
  if (!args.bench) fail('usage: eval_vs_ort.js --bench halfcast_bench_eval [--repeat N]');
  const feedsDir = path.join(args.work, 'feeds');
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const made = childProcess.spawnSync(
      python, [path.join(root, 'tests', 'integration', 'make_feeds.py'), '--models', args.models,
               '--out', feedsDir], {encoding: 'utf8'});
  if (made.status !== 0) fail(`make_feeds.py failed: ${made.stderr}`);

  const table = JSON.parse(fs.readFileSync(path.join(args.models, 'inputs.json'), 'utf8'));
  const rows = [];
  for (const model of Object.keys(table).filter((k) => !k.startsWith('_')).sort()) {
    const modelPath = path.join(args.models, model);
    const feeds = {};
    const inputArgs = [];
    for (const name of Object.keys(table[model])) {
      const file = path.join(feedsDir, model, `${name}.npy`);
      feeds[name] = readNpy(file);
      inputArgs.push('--input', `${name}=${file}`);
    }
    const ortMs = await timeOrt(modelPath, feeds, args.repeat);
    const ours = timeHalfcast(args.bench, modelPath, inputArgs, args.repeat);
    rows.push({model, ortMs, ours});
  }
  console.log(`ONNX Runtime ${require(path.join(root, 'tests', 'integration', 'ort', 'node_modules',
                                                 'onnxruntime-node', 'package.json')).version}, ` +
              `${os.cpus()[0].model}, one thread, ${args.repeat} runs, ` +
              `load average ${os.loadavg()[0].toFixed(1)}\n`);
  console.log('| model | ORT CPU ms | halfcast CPU ms | ratio (CPU) | ORT wall ms median / min | ' +
              'halfcast wall ms median / min | ratio (wall median) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const f = (x) => x.toFixed(2);
  for (const {model, ortMs, ours} of rows) {
    const ortWall = `${f(ortMs.median)} / ${f(ortMs.min)}`;
    if (ours.error) {
      console.log(`| ${model} | ${f(ortMs.cpu)} | error: ${ours.error} | - | ${ortWall} | - | - |`);
    } else {
      console.log(`| ${model} | ${f(ortMs.cpu)} | ${f(ours.cpu_median_ms)} | ` +
                  `${f(ours.cpu_median_ms / ortMs.cpu)}x | ${ortWall} | ` +
                  `${f(ours.median_ms)} / ${f(ours.min_ms)} | ` +
                  `${f(ours.median_ms / ortMs.median)}x |`);
    }
  }
}

main().catch((e) => fail(e.stack || String(e)));
