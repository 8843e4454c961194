/*
 * mempass NCORES [MIB=16]: one MIB MiB buffer (anonymous, no huge pages) is
 * handed from worker to worker: worker i waits for the token, writes one
 * byte in every 4 KiB page, passes the token to worker i+1. The buffer is
 * mapped before the timed section and the timed section ends when the last
 * worker passes the token back.
 *   threads: one process, MAP_PRIVATE: only the first pass takes page
 *            faults, the others find the pages mapped (one shared address
 *            range handed around);
 *   procs:   forked processes sharing the buffer with MAP_SHARED: every
 *            worker maps the pages into its own page tables (private ranges
 *            onto shared memory).
 * ops = pages written in all (NCORES * MIB * 256).
 */
#include "common.h"

static size_t bytes;
static char *buf;
static int token[MAX_WORKERS + 1][2];

static void take(int i)
{
	char c;
	ssize_t r;
	while ((r = read(token[i][0], &c, 1)) < 0 && errno == EINTR)
		;
	if (r != 1)
		die("token read");
}

static void give(int i)
{
	char c = 1;
	if (write(token[i][1], &c, 1) != 1)
		die("token write");
}

static void worker(int i, void *ctx)
{
	(void)ctx;
	pin(i);
	take(i);
	touch_pages(buf, bytes, (char)(i + 1));
	give(i + 1);
}

static void run(int n, int procs, const char *extra)
{
	pthread_t t[MAX_WORKERS];
	struct thread_arg a[MAX_WORKERS];
	pid_t pids[MAX_WORKERS];
	for (int i = 0; i <= n; i++)
		if (pipe(token[i]) != 0)
			die("pipe");
	buf = map_region(bytes, procs);
	if (procs)
		fork_workers(n, worker, NULL, pids, NULL, NULL);
	else
		run_threads(n, worker, NULL, t, a);
	uint64_t t0 = now_ns();
	give(0);
	take(n);
	uint64_t t1 = now_ns();
	if (procs)
		wait_workers(n, pids);
	else
		join_threads(n, t);
	for (size_t off = 0; off < bytes; off += PAGE)
		if (buf[off] != (char)n) {
			fprintf(stdout, "FAIL mempass: page %zu holds %d, not %d\n", off / PAGE, buf[off], n);
			exit(1);
		}
	munmap(buf, bytes);
	for (int i = 0; i <= n; i++) {
		close(token[i][0]);
		close(token[i][1]);
	}
	result("mempass", procs ? "procs" : "threads", n, (uint64_t)n * (bytes / PAGE), t1 - t0, extra);
}

int main(int argc, char **argv)
{
	int n = workers_arg(argc, argv);
	long mib = arg_or(argc, argv, 2, 16);
	bytes = (size_t)mib << 20;
	char extra[64];
	snprintf(extra, sizeof extra, "mib=%ld", mib);
	run(n, 0, extra);
	run(n, 1, extra);
	return 0;
}
