/* SPDX-License-Identifier: MIT */
/*
 * store_ckpt.c - the WAL checkpoint in a helper process: its spawn, its
 * end polled through the ring, its wait and result; and the helper's own
 * work. See store_ckpt.h.
 */
#include "store/store_ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store_db.h"
#include "store/store_sync.h"
#include "base/lb_err.h"
#include "base/log.h"

#define TAG STORE_LOG_TAG
/* The helper waits for a lock that long: it holds nobody up meanwhile. */
#define HELPER_BUSY_MS 5000

extern char **environ;

void store__ckpt_init(struct store *s)
{
	s->ckpt.fd = -1;
	s->ckpt.pidfd = -1;
	s->ckpt.wal_fd = -1;
}

int store_checkpoint_helper(struct store *s, const char *exe)
{
	char wal[PATH_MAX];

	if (!s || !s->db)
		return LB_ERR_STATE;
	/* FAILURE IS FINAL (store_ckpt.h): a descriptor of the -wal opened
	 * now, which only the helpers sync, hears of every write-back error
	 * from now on, whoever else heard of it first; once, since all the
	 * helpers share it (FAILURES says why that is enough). */
	if (s->ckpt.wal_fd < 0) {
		const char *db = sqlite3_db_filename(s->db, "main");
		if (!db || (size_t)snprintf(wal, sizeof(wal), "%s-wal", db) >= sizeof(wal))
			return LB_ERR_INVAL;
		int fd = open(wal, O_RDONLY | O_CLOEXEC);
		/* Above the helper's standard descriptors, which spawn() sets
		 * before it makes this one the helper's 3. */
		s->ckpt.wal_fd = fd >= 0 && fd <= 3 ? fcntl(fd, F_DUPFD_CLOEXEC, 4) : fd;
		if (fd >= 0 && fd <= 3)
			close(fd);
		if (s->ckpt.wal_fd < 0) {
			log_error(TAG, "cannot open %s for the checkpoint helper: %s: checkpoints are "
				  "made on the loop", wal, strerror(errno));
			return LB_ERR_IO;
		}
	}
	s->ckpt.exe = exe;
	return LB_OK;
}

bool store_checkpoint_closing(const struct store *s)
{
	return s && s->ckpt.running && s->ckpt.closing;
}

int64_t store_checkpoint_running_ms(const struct store *s)
{
	if (!s || !s->ckpt.running)
		return 0;
	return (store__mono_us() - s->ckpt.since_us) / 1000;
}

bool store__ckpt_usable(const struct store *s)
{
	return s->ckpt.exe && s->gen.deferred && store__sync_ring_ok(s) && !s->ckpt.running &&
	       !s->ckpt.at_once && s->ckpt.failures < STORE_CKPT_MAX_FAILURES;
}

/* A helper failed (logged by the caller): one more in a row. */
static void helper_failed(struct store *s)
{
	if (++s->ckpt.failures == STORE_CKPT_MAX_FAILURES)
		log_error(TAG, "%d checkpoint helpers failed in a row: checkpoints are made on the "
			  "loop from now on", STORE_CKPT_MAX_FAILURES);
}

/* The helper has ended (or is waited for here): its wait status, -1 if
 * it cannot be had. */
static int wait_child(struct store *s)
{
	int st = -1;
	pid_t r;

	do
		r = waitpid(s->ckpt.pid, &st, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0) {   /* cannot happen: it is our child, waited for once */
		log_error(TAG, "waiting for the checkpoint helper %d: %s", s->ckpt.pid,
			  strerror(errno));
		st = -1;
	}
	s->ckpt.pid = 0;
	return st;
}

/* Its line "RC N_LOG N_DONE [ERROR]" from the pipe (the helper has
 * ended: all it wrote is there). Returns rc, -1 without a line; *why is
 * its ERROR, or SQLite's words for rc when it gave none. */
static int read_result(struct store *s, int *n_log, int *n_done, const char **why)
{
	ssize_t n;
	int rc = -1, end = 0;

	do
		n = read(s->ckpt.fd, s->ckpt.buf, sizeof(s->ckpt.buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	s->ckpt.buf[n] = 0;
	if (sscanf(s->ckpt.buf, "%d %d %d %n", &rc, n_log, n_done, &end) != 3 || rc < 0)
		return -1;
	char *text = s->ckpt.buf + end;
	text[strcspn(text, "\n")] = 0;
	*why = *text ? text : sqlite3_errstr(rc);
	return rc;
}

static void log_no_result(int st)
{
	if (st != -1 && WIFSIGNALED(st))
		log_error(TAG, "the checkpoint helper was killed by signal %d", WTERMSIG(st));
	else if (st != -1 && WIFEXITED(st))
		log_error(TAG, "the checkpoint helper exited with status %d without a result",
			  WEXITSTATUS(st));
	else
		log_error(TAG, "the checkpoint helper wrote no result");
}

/* What the helper reported, in the caller's log (its own stderr may be
 * /dev/null: HOW); rc < 0, no result: how it ended. A failed sync is
 * final (store_gen.c says so next); another checkpoint's lock is retried;
 * any other failure counts. */
static void log_result(struct store *s, int st, int rc, const char *why)
{
	if (rc < 0) {
		log_no_result(st);
		helper_failed(s);
	} else if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC) {
		log_error(TAG, "the checkpoint helper's sync failed: %s", why);
	} else if ((rc & 0xff) == SQLITE_BUSY) {
		log_debug(TAG, "the checkpoint helper: %s", why);
	} else if (rc != SQLITE_OK) {
		log_error(TAG, "the WAL checkpoint failed in the helper: %s: made at once", why);
		helper_failed(s);
	} else {
		s->ckpt.failures = 0;
	}
}

/* The helper has ended (its pidfd readable), or is waited for now: take
 * its result, end the pass, hand the result to the generation. */
static void finish(struct store *s)
{
	int n_log = 0, n_done = 0;
	const char *why = "";
	int st = wait_child(s);
	int rc = read_result(s, &n_log, &n_done, &why);

	close(s->ckpt.fd);
	if (s->ckpt.pidfd >= 0)
		close(s->ckpt.pidfd);
	s->ckpt.fd = s->ckpt.pidfd = -1;
	s->ckpt.running = false;
	log_result(s, st, rc, why);
	log_debug(TAG, "checkpoint helper (%s pass): result %d, %d of %d frames, %lld us",
		  s->ckpt.closing ? "closing" : "open", rc, n_done, n_log,
		  (long long)(store__mono_us() - s->ckpt.since_us));
	s->ckpt.done(s, rc, n_log, n_done);
}

/* The ring's poll of the pidfd: on a failure of the ring's own the
 * helper may still run, and is waited for here (a pass lost would leave
 * the WAL growing). */
static void poll_done(struct store *s, int res)
{
	if (res < 0)
		LB_LOG_RL(LOG_LVL_WARN, TAG, "io_uring: waiting for the checkpoint helper failed "
			  "(%s): waited for on the loop", strerror(-res));
	finish(s);
}

/* posix_spawn() of the helper, its output to the pipe's end w, in the
 * state directory. Returns 0 or an errno. */
static int spawn(struct store *s, int w, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t mask, dflt;
	char *argv[] = {"lorabridge", STORE_CKPT_HELPER_ARG, STORE_DB_NAME, "3", NULL};

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigfillset(&dflt);
	int err = posix_spawn_file_actions_init(&fa);
	if (err)
		return err;
	if ((err = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err;
	}
	/* In this order: the directory's descriptor is closed with the rest;
	 * the WAL's unsynced one is its descriptor 3 (argv). */
	if (!(err = posix_spawn_file_actions_addfchdir_np(&fa, s->dir_fd)) &&
	    !(err = posix_spawn_file_actions_adddup2(&fa, w, STDOUT_FILENO)) &&
	    !(err = posix_spawn_file_actions_adddup2(&fa, s->ckpt.wal_fd, 3)) &&
	    !(err = posix_spawn_file_actions_addclosefrom_np(&fa, 4)) &&
	    !(err = posix_spawnattr_setsigmask(&at, &mask)) &&
	    !(err = posix_spawnattr_setsigdefault(&at, &dflt)) &&
	    !(err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)))
		err = posix_spawn(pid, s->ckpt.exe, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int store__ckpt_start(struct store *s, bool closing)
{
	int p[2];
	pid_t pid = 0;

	if (pipe2(p, O_CLOEXEC) != 0) {
		log_error(TAG, "a pipe for the checkpoint helper: %s: checkpoint made at once",
			  strerror(errno));
		return LB_ERR_IO;
	}
	int64_t t0 = store__mono_us();
	int err = spawn(s, p[1], &pid);
	close(p[1]);
	if (err) {
		close(p[0]);
		log_error(TAG, "cannot start the checkpoint helper %s: %s: checkpoint made at once",
			  s->ckpt.exe, strerror(err));
		helper_failed(s);
		return LB_ERR_IO;
	}
	s->ckpt.pid = pid;
	s->ckpt.fd = p[0];
	s->ckpt.running = true;
	s->ckpt.closing = closing;
	s->ckpt.since_us = store__mono_us();
	s->ckpt.restarts = s->wal_restarts;
	s->ckpt.spawned++;
	s->ckpt.closings += closing;
	log_debug(TAG, "checkpoint helper %d started (%s pass) in %lld us", (int)pid,
		  closing ? "closing" : "open", (long long)(s->ckpt.since_us - t0));
	/* Its end, polled in the ring: a pidfd is readable once the process
	 * can be waited for, so nothing is left behind. */
	s->ckpt.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->ckpt.pidfd < 0) {   /* (no kernel support, or a filter: for good) */
		log_error(TAG, "pidfd_open: %s: the checkpoint helper is waited for on the loop, and "
			  "checkpoints are made on the loop from now on", strerror(errno));
		s->ckpt.exe = NULL;   /* (finish() counts a good result: not failures) */
		finish(s);
	} else if (store__sync_poll_submit(s, s->ckpt.pidfd, poll_done) != LB_OK) {
		finish(s);   /* the ring broke meanwhile: waited for here */
	}
	return LB_OK;
}

void store__ckpt_wait(struct store *s)
{
	if (!s->ckpt.running)
		return;
	store__sync_poll_wait(s);
	if (s->ckpt.running)   /* the ring is gone (its wait failed): waited for here */
		finish(s);
}

void store__ckpt_before_begin(struct store *s)
{
	if (!store_checkpoint_closing(s))
		return;
	s->ckpt.waits++;
	store__ckpt_wait(s);
}

void store__ckpt_close(struct store *s)
{
	/* No pass after this one: its result would start the next. */
	s->ckpt.exe = NULL;
	store__ckpt_wait(s);
	if (s->ckpt.wal_fd >= 0)
		close(s->ckpt.wal_fd);
	s->ckpt.wal_fd = -1;
}

/* ---- the helper's side ------------------------------------------------- */

/* The daemon's unsynced descriptor of the -wal (store_ckpt.h, FAILURES):
 * a write-back error it reports is the WAL's, which this process's own
 * descriptor, opened later, may never hear of. SQLITE_IOERR_FSYNC then,
 * and why in msg. */
static int wal_heard_no_error(int wal_fd, char *msg, size_t cap)
{
	int err = wal_fd < 0 ? 0 : store__fdatasync(wal_fd);

	if (err == 0)
		return SQLITE_OK;
	snprintf(msg, cap, "fdatasync of the daemon's -wal descriptor: %s", strerror(err));
	return SQLITE_IOERR_FSYNC;
}

/* The result line of HOW: the error on one line, cut to fit the caller's
 * buffer with the three numbers before it (48 characters leave room). */
static int write_result(int out_fd, int rc, int n_log, int n_done, char *msg)
{
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	return dprintf(out_fd, "%d %d %d%s%.*s\n", rc, n_log, n_done, *msg ? " " : "",
		       STORE_CKPT_LINE_MAX - 48, msg);
}

int store_checkpoint_main(const char *db_path, int out_fd, int wal_fd)
{
	sqlite3 *db = NULL;
	int n_log = -1, n_done = -1;
	char msg[STORE_CKPT_LINE_MAX] = "";

	if (!db_path) {
		fprintf(stderr, "usage: lorabridge %s DATABASE [WAL_FD] (run by the daemon "
			"itself)\n", STORE_CKPT_HELPER_ARG);
		return 2;
	}
	/* Its own connection: never created, never put into another mode,
	 * never checkpointing at its close (were the daemon gone, that would
	 * checkpoint again after a failed sync, and delete the WAL: FAILURE IS
	 * FINAL); synchronous = NORMAL syncs the WAL before and the database
	 * file after, as the daemon's checkpoints did on its loop. The read
	 * opens its descriptor of the WAL before the check of the daemon's,
	 * so that no write-back error falls between the two. */
	int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(db, 1);
		sqlite3_busy_timeout(db, HELPER_BUSY_MS);
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL; SELECT count(*) FROM sqlite_master",
				  NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = wal_heard_no_error(wal_fd, msg, sizeof(msg));
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &n_log, &n_done);
	if (rc != SQLITE_OK && !*msg)
		snprintf(msg, sizeof(msg), "%s: %s", db_path,
			 db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	/* Closed first: once the line is out, the process only exits. */
	sqlite3_close(db);
	if (write_result(out_fd, rc, n_log, n_done, msg) < 0)
		return 1;
	return rc == SQLITE_OK ? 0 : 1;
}
