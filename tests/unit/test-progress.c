/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/progress.c: the "-p" line format, the minimum step
 * between refreshes, absolute values (max 0, as 7.2), phases (max != 0),
 * and the final newline.
 */
#include "util/osdep.h"
#include "util/progress.h"

/* Run @fn with stdout captured; returns what it printed. */
static char *capture_stdout(void (*fn)(void))
{
    char path[] = "/tmp/test-progress-XXXXXX";
    int fd = mkstemp(path), saved;
    char *out = NULL;

    g_assert_cmpint(fd, >=, 0);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    fn();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);
    g_assert_true(g_file_get_contents(path, &out, NULL, NULL));
    unlink(path);
    return out;
}

static void run_steps(void)
{
    int i;

    qemu_progress_init(true, 10.0);
    qemu_progress_print(0, 100);
    for (i = 1; i <= 20; i++) {
        qemu_progress_print(5 * i, 0);  /* max 0: the value itself */
    }
    qemu_progress_end();
}

static void test_steps(void)
{
    g_autofree char *out = capture_stdout(run_steps);

    /* 0 always, then only after moving more than 10 points, 100 always */
    g_assert_cmpstr(out, ==,
                    "    (0.00/100%)\r"
                    "    (15.00/100%)\r"
                    "    (30.00/100%)\r"
                    "    (45.00/100%)\r"
                    "    (60.00/100%)\r"
                    "    (75.00/100%)\r"
                    "    (90.00/100%)\r"
                    "    (100.00/100%)\r"
                    "\n");
}

static void run_phase(void)
{
    qemu_progress_init(true, 0.0);
    qemu_progress_print(50, 50);    /* half of a phase worth 50% */
    qemu_progress_print(200, 50);   /* clamped at 100% */
    qemu_progress_end();
}

static void test_phase_and_clamp(void)
{
    g_autofree char *out = capture_stdout(run_phase);

    g_assert_cmpstr(out, ==, "    (25.00/100%)\r    (100.00/100%)\r\n");
}

static void run_absolute(void)
{
    qemu_progress_init(true, 0.0);
    qemu_progress_print(80, 0);
    qemu_progress_print(30, 0);     /* a value, not a step: back to 30 */
    qemu_progress_print(10, 50);    /* a step from there: 30 + 5 */
    qemu_progress_end();
}

static void test_absolute(void)
{
    g_autofree char *out = capture_stdout(run_absolute);

    g_assert_cmpstr(out, ==,
                    "    (80.00/100%)\r    (30.00/100%)\r    (35.00/100%)\r\n");
}

static void run_disabled(void)
{
    qemu_progress_init(false, 1.0);
    qemu_progress_print(50, 0);
    qemu_progress_end();
}

static void test_disabled(void)
{
    g_autofree char *out = capture_stdout(run_disabled);

    g_assert_cmpstr(out, ==, "");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/progress/steps", test_steps);
    g_test_add_func("/progress/phase-and-clamp", test_phase_and_clamp);
    g_test_add_func("/progress/absolute", test_absolute);
    g_test_add_func("/progress/disabled", test_disabled);
    return g_test_run();
}
