/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Regression runner for fuzz targets without libFuzzer: feeds every file
 * of the given directories to LLVMFuzzerTestOneInput once.  Built with the
 * normal compiler so that `make check` (and `make check SANITIZE=1`, under
 * ASan+UBSan) replays the corpus.  Prints TAP.
 */
#include "util/osdep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    g_autofree char *target = NULL;
    int i, n = 0;

    printf("1..1\n");
    for (i = 1; i < argc; i++) {
        GDir *dir = g_dir_open(argv[i], 0, NULL);
        const char *name;

        if (!dir) {
            printf("not ok 1 /fuzz/corpus (cannot open %s)\n", argv[i]);
            return 1;
        }
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *path = g_build_filename(argv[i], name, NULL);
            g_autofree char *contents = NULL;
            gsize len;

            if (g_file_get_contents(path, &contents, &len, NULL)) {
                LLVMFuzzerTestOneInput((const uint8_t *)contents, len);
                n++;
            }
        }
        g_dir_close(dir);
    }
    target = g_path_get_basename(argv[0]);
    printf("ok 1 /fuzz/%s (%d inputs)\n", target, n);
    return 0;
}
