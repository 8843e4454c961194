/*
 * nullcall NCORES [CALLS=20000]: each of NCORES threads (pinned) makes CALLS
 * getppid() system calls: the kernel-entry cost every other figure
 * contains, and the peer of our kernel's null-syscall benchmark.
 * ops = system calls in all (NCORES * CALLS).
 */
#include "common.h"
#include <sys/syscall.h>

static long calls;
static struct gate gate;

static void worker(int i, void *ctx)
{
	(void)ctx;
	pin(i);
	gate_wait(&gate);
	for (long k = 0; k < calls; k++)
		syscall(SYS_getppid);
}

int main(int argc, char **argv)
{
	int n = workers_arg(argc, argv);
	calls = arg_or(argc, argv, 2, 20000);
	pthread_t t[MAX_WORKERS];
	struct thread_arg a[MAX_WORKERS];
	char extra[64];
	snprintf(extra, sizeof extra, "calls=%ld", calls);
	gate_init(&gate);
	run_threads(n, worker, NULL, t, a);
	uint64_t t0 = now_ns();
	gate_open(&gate);
	join_threads(n, t);
	uint64_t t1 = now_ns();
	result("nullcall", "getppid", n, (uint64_t)n * (uint64_t)calls, t1 - t0, extra);
	return 0;
}
