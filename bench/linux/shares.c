/*
 * shares NCORES [ROUNDS=20000]: each of NCORES workers does ROUNDS
 * dup()+close() pairs on a descriptor opened before the timed section.
 *   threads: one process: every dup and close goes through the one shared
 *            descriptor table and its lock (a global share);
 *   procs:   forked processes, each with its own copy of the table
 *            (private shares).
 * ops = dup+close pairs in all (NCORES * ROUNDS).
 */
#include "common.h"

static long rounds;
static int base_fd;
static struct gate gate;

static void worker(int i, void *ctx)
{
	(void)ctx;
	pin(i);
	gate_wait(&gate);
	for (long r = 0; r < rounds; r++) {
		int fd = dup(base_fd);
		if (fd < 0)
			die("dup");
		if (close(fd) != 0)
			die("close");
	}
}

static void drop_gate(void *ctx)
{
	(void)ctx;
	gate_child(&gate);
}

int main(int argc, char **argv)
{
	int n = workers_arg(argc, argv);
	rounds = arg_or(argc, argv, 2, 20000);
	uint64_t ops = (uint64_t)n * (uint64_t)rounds;
	pthread_t t[MAX_WORKERS];
	struct thread_arg a[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	char extra[64];
	snprintf(extra, sizeof extra, "rounds=%ld", rounds);
	base_fd = dup(1);
	if (base_fd < 0)
		die("dup");

	gate_init(&gate);
	run_threads(n, worker, NULL, t, a);
	uint64_t t0 = now_ns();
	gate_open(&gate);
	join_threads(n, t);
	uint64_t t1 = now_ns();
	gate_done(&gate);
	result("shares", "threads", n, ops, t1 - t0, extra);

	gate_init(&gate);
	fork_workers(n, worker, NULL, pids, drop_gate, NULL);
	t0 = now_ns();
	gate_open(&gate);
	wait_workers(n, pids);
	t1 = now_ns();
	gate_done(&gate);
	result("shares", "procs", n, ops, t1 - t0, extra);
	return 0;
}
