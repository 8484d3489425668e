// The reaper: a tiny process that makes sure no replica outlives the simulator, however the simulator dies.
//
// The simulator forks it detached — a session and process group of its own, so that a signal to the
// simulator's group (a terminal hangup, a CI runner killing the job's group) does not take it along — tells
// it each replica's process group as the replica starts, and says `done` once it has cleaned up by itself;
// the reaper then exits at once. If the IPC channel closes without that `done`, the simulator died a death
// it could not clean up after (SIGKILL, a crash, an uncaught signal): the reaper SIGKILLs every group it was
// told about and exits. It imports nothing and does nothing but wait on the channel.

export type ToReaper = { type: 'watch'; pgid: number } | { type: 'done' }

if (process.send && process.env.LAMEDUCK_SIM_REAPER === '1') {
  const groups = new Set<number>()
  process.on('message', (message: ToReaper) => {
    if (message.type === 'watch') groups.add(message.pgid)
    else if (message.type === 'done') process.exit(0)
  })
  process.on('disconnect', () => {
    for (const pgid of groups) {
      try {
        process.kill(-pgid, 'SIGKILL')
      } catch {
        // No such group: everything in it is gone already.
      }
    }
    process.exit(0)
  })
}
