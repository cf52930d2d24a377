// worker.js - node worker_threads: three workers compute, the main thread
// collects their messages.
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
if (isMainThread) {
  const jobs = [1, 2, 3].map(k => new Promise((res, rej) => {
    const w = new Worker(__filename, { workerData: k });
    w.on('message', res); w.on('error', rej);
  }));
  Promise.all(jobs).then(r => console.log('results', JSON.stringify(r)));
} else {
  let s = 0;
  for (let i = 0; i < 3e6; i++) s = (s * 31 + i * workerData) % 1000003;
  parentPort.postMessage(s);
}
