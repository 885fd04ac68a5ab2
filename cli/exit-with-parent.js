// Preloaded by `natter up` into every role it starts (node --import). The roles run in their own
// process group, so a terminal's Ctrl-C reaches only `natter up`, which stops them in order. If
// `natter up` dies without doing so (kill -9, an OOM kill), its roles would hold their ports and
// consumer-group seats forever; instead each one notices it was orphaned and stops itself the
// graceful way, once (a second SIGTERM would make a role exit at once, skipping the drain).
const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(timer);
  process.kill(process.pid, 'SIGTERM');
}, 1_000);
timer.unref();
