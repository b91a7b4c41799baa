/* SPDX-License-Identifier: MIT */
/*
 * Replays a fuzz corpus through a libFuzzer entry point without libFuzzer,
 * so gcc builds and the sanitizer builds run every corpus entry as a test.
 * Arguments are files or directories (every regular file inside is run).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (!f) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return -1;
    }
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    free(buf);
    return 0;
}

static int run_path(const char *path, unsigned *count)
{
    struct stat st;
    DIR *dir;
    struct dirent *de;
    int ret = 0;

    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    dir = opendir(path);
    if (!dir) {
        perror(path);
        return -1;
    }
    while ((de = readdir(dir))) {
        char child[4096];
        if (de->d_name[0] == '.')
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (run_path(child, count) != 0)
            ret = -1;
    }
    closedir(dir);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int ret = 0;

    for (int i = 1; i < argc; i++) {
        if (run_path(argv[i], &count) != 0)
            ret = 1;
    }
    if (count == 0) {
        fprintf(stderr, "replay: no corpus entries found\n");
        return 1;
    }
    printf("replayed %u inputs\n", count);
    return ret;
}
