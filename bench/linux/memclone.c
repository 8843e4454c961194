/*
 * memclone NCORES [MIB=16]: each of NCORES workers maps its own MIB MiB
 * (anonymous, private, no huge pages), writes one byte in every 4 KiB page
 * and unmaps it.
 *   threads: the workers are threads of one process (one shared mm: one
 *            page-table tree, one mmap lock), the analogue of one shared
 *            address range;
 *   procs:   the workers are forked processes (private mms), the analogue
 *            of private address ranges.
 * ops = pages written in all (NCORES * MIB * 256).
 */
#include "common.h"

static size_t bytes;
static struct gate gate;

static void worker(int i, void *ctx)
{
	(void)ctx;
	pin(i);
	gate_wait(&gate);
	char *p = map_region(bytes, 0);
	touch_pages(p, bytes, (char)(i + 1));
	if (munmap(p, bytes) != 0)
		die("munmap");
}

static void drop_gate(void *ctx)
{
	(void)ctx;
	gate_child(&gate);
}

int main(int argc, char **argv)
{
	int n = workers_arg(argc, argv);
	long mib = arg_or(argc, argv, 2, 16);
	bytes = (size_t)mib << 20;
	uint64_t ops = (uint64_t)n * (bytes / PAGE);
	pthread_t t[MAX_WORKERS];
	struct thread_arg a[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	char extra[64];
	snprintf(extra, sizeof extra, "mib=%ld", mib);

	gate_init(&gate);
	run_threads(n, worker, NULL, t, a);
	uint64_t t0 = now_ns();
	gate_open(&gate);
	join_threads(n, t);
	uint64_t t1 = now_ns();
	gate_done(&gate);
	result("memclone", "threads", n, ops, t1 - t0, extra);

	gate_init(&gate);
	fork_workers(n, worker, NULL, pids, drop_gate, NULL);
	t0 = now_ns();
	gate_open(&gate);
	wait_workers(n, pids);
	t1 = now_ns();
	gate_done(&gate);
	result("memclone", "procs", n, ops, t1 - t0, extra);
	return 0;
}
