// SPDX-License-Identifier: GPL-2.0
/*
 * svmigctl migrate's progress: the lines svmigd sends, or on a terminal
 * a bar drawn from the source QEMU's query-migrate figures; and what the
 * summary needs of them (struct prog, ctl.h).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl.h"

#define BAR_W 16		/* characters of the progress bar */

static void human(char *buf, size_t len, long long bytes)
{
	if (bytes < 0)
		snprintf(buf, len, "?");
	else if (bytes < 1024)
		snprintf(buf, len, "%lld B", bytes);
	else if (bytes < 1 << 20)
		snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
	else if (bytes < 10LL << 30)
		snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
	else
		snprintf(buf, len, "%.1f GiB", bytes / 1073741824.0);
}

static size_t term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_col < 20)
		return 80;
	return ws.ws_col;
}

void bar_end(struct prog *p)
{
	if (p->bar_on)
		putchar('\n');
	p->bar_on = false;
}

/* Done: the share of guest RAM no longer waiting to be sent. */
static int bar_percent(struct json_object *ram, bool done)
{
	long long tot = jnum(ram, "total"), rem = jnum(ram, "remaining");

	if (done)
		return 100;
	if (tot <= 0 || rem < 0 || rem > tot)
		return 0;
	return (int)((tot - rem) * 100 / tot);
}

/* Appends a piece to the bar's @line if it fits in @w - 1 columns. */
static bool bar_piece(char *line, size_t w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool bar_piece(char *line, size_t w, const char *fmt, ...)
{
	size_t n = strlen(line);
	char piece[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (n + strlen(piece) >= w)
		return false;
	memcpy(line + n, piece, strlen(piece) + 1);
	return true;
}

/*
 * "[#####.......]  37%  23.5 MiB sent, 40.1 MiB left  9.3 MB/s  ~300 ms down
 * sync 2", as much of it as the terminal's width takes, in this order.
 */
static void bar_draw(struct prog *p, struct json_object *o,
		     struct json_object *ram)
{
	bool done = is(jstr(o, "status"), "completed");
	int pct = bar_percent(ram, done), i;
	char line[256], sent[32], left[32];
	size_t w = term_width();
	struct json_object *v;

	if (w > sizeof(line))
		w = sizeof(line);
	line[0] = '[';
	for (i = 0; i < BAR_W; i++)
		line[i + 1] = i < pct * BAR_W / 100 ? '#' : '.';
	snprintf(line + BAR_W + 1, sizeof(line) - BAR_W - 1, "] %3d%%", pct);
	human(sent, sizeof(sent), jnum(ram, "transferred"));
	human(left, sizeof(left), done ? 0 : jnum(ram, "remaining"));
	if (bar_piece(line, w, "  %s sent, %s left", sent, left) &&
	    json_object_object_get_ex(ram, "mbps", &v) &&
	    bar_piece(line, w, "  %.1f MB/s", json_object_get_double(v) / 8) &&
	    (done || jnum(o, "expected-downtime") < 0 ||
	     bar_piece(line, w, "  ~%lld ms down", jnum(o, "expected-downtime"))) &&
	    jnum(ram, "dirty-sync-count") >= 0)
		bar_piece(line, w, "  sync %lld", jnum(ram, "dirty-sync-count"));
	printf("\r%s\033[K", line);
	p->bar_on = true;
	if (done)
		bar_end(p);
}

/* Keeps what the summary needs. */
static void prog_note(struct prog *p, const char *step, struct json_object *o)
{
	if (is(step, "session") && jstr(o, "operator")) {
		json_object_put(p->session);
		p->session = json_object_get(o);
	} else if (is(step, "data") && is(jstr(o, "status"), "completed")) {
		json_object_put(p->done);
		p->done = json_object_get(o);
	}
}

void prog_event(struct prog *p, struct json_object *o)
{
	const char *step = jstr(o, "step") ?: "?";
	struct json_object *ram;

	prog_note(p, step, o);
	if (p->show == SHOW_NONE)
		return;
	if (p->show == SHOW_BAR && is(step, "data") &&
	    json_object_object_get_ex(o, "ram", &ram) &&
	    json_object_is_type(ram, json_type_object)) {
		bar_draw(p, o, ram);
	} else {
		bar_end(p);
		printf("%s: %s\n", step, jstr(o, "detail") ?: "");
	}
	fflush(stdout);
}

void prog_free(struct prog *p)
{
	json_object_put(p->session);
	json_object_put(p->done);
}
