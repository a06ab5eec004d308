/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A throwaway swtpm (TPM 2.0 emulator) for the unit tests: a fresh state
 * directory, a TCP data port P and control port P + 1 on 127.0.0.1, the
 * TPM started (not-need-init,startup-clear), the TCTI string to reach it.
 * The child dies with the test program (PR_SET_PDEATHSIG) if that crashes.
 */
#ifndef SVMIG_TEST_SWTPM_H
#define SVMIG_TEST_SWTPM_H

#include "tmpdir.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct swtpm {
	pid_t pid;
	unsigned int port;
	char dir[64];
	char tcti[64];
};

/*
 * The absolute path of swtpm in $PATH or the usual places, or NULL.
 * $SVMIG_SWTPM overrides the search (a path that is not an absolute
 * executable: none, so the tests' skip path can be exercised).
 */
static inline const char *swtpm_binary(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("SVMIG_SWTPM");
	char dirs[4096], *dir, *save = NULL;

	if (env)
		return env[0] == '/' && access(env, X_OK) == 0 ? env : NULL;
	env = getenv("PATH");
	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/local/bin:/bin",
		 env ? env : "");
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if (dir[0] != '/')
			continue;
		if (snprintf(path, sizeof(path), "%s/swtpm", dir) >=
		    (int)sizeof(path))
			continue;
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* Bind 127.0.0.1:@port (0: any); returns the fd, *port the bound port. */
static inline int swtpm_bind(unsigned int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)*port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port P such that P and P + 1 are free right now. */
static inline int swtpm_ports(unsigned int *port)
{
	unsigned int p, q;
	int i, fd, fd2;

	for (i = 0; i < 50; i++) {
		p = 0;
		fd = swtpm_bind(&p);
		if (fd < 0)
			return -1;
		q = p + 1;
		fd2 = p < 65535 ? swtpm_bind(&q) : -1;
		close(fd);
		if (fd2 >= 0) {
			close(fd2);
			*port = p;
			return 0;
		}
	}
	return -1;
}

static inline void swtpm_child(const char *bin, const struct swtpm *s)
{
	char server[64], ctrl[64], state[96];
	int null = open("/dev/null", O_WRONLY);

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		_exit(127);
	if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
		_exit(127);
	snprintf(server, sizeof(server), "type=tcp,port=%u", s->port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%u", s->port + 1);
	snprintf(state, sizeof(state), "dir=%s", s->dir);
	execl(bin, bin, "socket", "--tpm2", "--server", server,
	      "--ctrl", ctrl, "--tpmstate", state,
	      "--flags", "not-need-init,startup-clear", (char *)NULL);
	_exit(127);
}

/* Wait until the data port accepts connections (or the child died). */
static inline int swtpm_wait(struct swtpm *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	int i, fd, status, ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)s->port);
	for (i = 0; i < 600; i++) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return 0;
		nanosleep(&nap, NULL);
	}
	return -1;
}

static inline void swtpm_rmdir(const char *path)
{
	test_rmdir(path);
}

static inline void swtpm_kill(struct swtpm *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	s->pid = 0;
}

static inline void swtpm_stop(struct swtpm *s)
{
	swtpm_kill(s);
	if (s->dir[0])
		swtpm_rmdir(s->dir);
	s->dir[0] = '\0';
}

/* swtpm @bin on the state directory s->dir (removed on failure). */
static inline int swtpm_run(struct swtpm *s, const char *bin)
{
	int i;

	for (i = 0; i < 10; i++) {
		if (swtpm_ports(&s->port))
			break;
		s->pid = fork();
		if (s->pid < 0)
			break;
		if (s->pid == 0)
			swtpm_child(bin, s);
		if (swtpm_wait(s) == 0) {
			snprintf(s->tcti, sizeof(s->tcti),
				 "swtpm:host=127.0.0.1,port=%u", s->port);
			return 0;
		}
		swtpm_kill(s);	/* lost a race for the ports: again */
	}
	swtpm_stop(s);
	return -1;
}

/* Start a fresh swtpm @bin (absolute path); 0 or -1. */
static inline int swtpm_start(struct swtpm *s, const char *bin)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/svmig-swtpm-XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -1;
	}
	return swtpm_run(s, bin);
}

/*
 * Start swtpm @bin on a TPM manufactured by swtpm_setup (next to @bin)
 * with an RSA EK certificate (NV index 0x01c00002) issued by
 * swtpm_localca's CA, kept in @ca_dir (made on first use: its root
 * swtpm-localca-rootca-cert.pem and issuing CA issuercert.pem); the TPM
 * state lives in a fresh directory.  0, or -1 (swtpm_setup failed).
 */
static inline int swtpm_start_ek(struct swtpm *s, const char *bin,
				 const char *ca_dir)
{
	char cmd[2048], dir[sizeof(s->dir)];

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/svmig-swtpm-XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		return -1;
	}
	memcpy(dir, s->dir, sizeof(dir));
	if (snprintf(cmd, sizeof(cmd),
		 "set -e; mkdir -p '%s'; cd '%s'; "
		 "printf 'statedir = %s\\nsigningkey = %s/signkey.pem\\n"
		 "issuercert = %s/issuercert.pem\\ncertserial = %s/certserial\\n' "
		 ">localca.conf; "
		 "printf -- '--platform-manufacturer svmig-test\\n' >localca.options; "
		 "printf 'create_certs_tool = /usr/bin/swtpm_localca\\n"
		 "create_certs_tool_config = %s/localca.conf\\n"
		 "create_certs_tool_options = %s/localca.options\\n' >setup.conf; "
		 "%s_setup --tpm2 --tpmstate %s --create-ek-cert "
		 "--config %s/setup.conf --overwrite >setup.log 2>&1",
		 ca_dir, dir, ca_dir, ca_dir, ca_dir, ca_dir, dir, dir, bin, dir,
		 dir) >= (int)sizeof(cmd) || system(cmd) != 0) {
		swtpm_rmdir(s->dir);
		s->dir[0] = '\0';
		return -1;
	}
	return swtpm_run(s, bin);
}

#endif /* SVMIG_TEST_SWTPM_H */
