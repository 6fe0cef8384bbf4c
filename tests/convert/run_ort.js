#!/usr/bin/env node
// Runs ONNX models in ONNX Runtime (onnxruntime-node, CPU) for the converter's tests.
//
//   node run_ort.js JOB.json
//
// JOB.json: [{"model": PATH, "feeds": {NAME: {"type": T, "dims": [...], "data": [...]}}}, ...]
// with T one of float32, float16 (data: the 16-bit patterns), bfloat16 (likewise), int64, bool.
// Prints one line per output: "JOB_INDEX<TAB>NAME<TAB>TYPE<TAB>v0 v1 ..." (16-bit outputs as
// their bit patterns), or exits with status 2 and the error on stderr.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, '..', 'integration', 'ort', 'node_modules',
                              'onnxruntime-node'));

const kArrays = {
  float32: (d) => Float32Array.from(d),
  float16: (d) => Uint16Array.from(d),
  bfloat16: (d) => Uint16Array.from(d),
  int64: (d) => BigInt64Array.from(d.map((x) => BigInt(x))),
  bool: (d) => Uint8Array.from(d),
};

async function main() {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const lines = [];
  for (const [index, job] of jobs.entries()) {
    const session = await ort.InferenceSession.create(job.model);
    const feeds = {};
    for (const [name, t] of Object.entries(job.feeds)) {
      feeds[name] = new ort.Tensor(t.type, kArrays[t.type](t.data), t.dims);
    }
    const outputs = await session.run(feeds);
    for (const [name, t] of Object.entries(outputs)) {
      const data = Array.from(t.data, (x) => Number(x));
      lines.push(`${index}\t${name}\t${t.type}\t${data.join(' ')}\n`);
    }
  }
  process.stdout.write(lines.join(''));
}

main().catch((e) => {
  process.stderr.write(`run_ort: ${e.message}\n`);
  process.exit(2);
});
