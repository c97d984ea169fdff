/* QUERY_DIRECTORY output: the input is walked as FileIdBothDirectoryInformation
 * and as FileDirectoryInformation entries (smbw_dir_next and smbw_dir_list
 * ask for the latter), names converted to UTF-8. The walk must end (progress is checked here) and
 * every name must lie inside the buffer. */
#include "fuzz.h"

#include "lib/util/unicode.h"

/* Walks data as entries of info_class. */
static void walk(uint8_t info_class, const uint8_t *data, size_t size)
{
    size_t pos = 0, last = 0;
    smb2_dirent e;
    for (size_t i = 0;; i++) {
        fz_check(i <= size / 8 + 1, "wire_next_dirent does not advance");
        int rc = wire_next_dirent_of(info_class, data, size, &pos, &e);
        if (rc != 0)
            break;
        fz_inside(e.name_utf16, e.name_len, data, size, "dirent name");
        fz_check(pos == SIZE_MAX || pos > last, "dirent position went backwards");
        last = pos;
        char *name = NULL;
        if (utf16le_to_utf8(e.name_utf16, e.name_len, &name) == 0)
            free(name);
        /* the lossy form listings use: fails only on an odd length, and
         * then gives a string of at most 3 bytes per unit */
        bool lossy;
        name = NULL;
        int lr = utf16le_to_utf8_lossy(e.name_utf16, e.name_len, &name, &lossy);
        fz_check(lr == 0 || e.name_len % 2 != 0, "lossy conversion failed on an even length");
        if (lr == 0) {
            fz_check(strlen(name) <= e.name_len / 2 * 3, "lossy conversion longer than 3 per unit");
            free(name);
        }
        if (pos == SIZE_MAX)
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(FileIdBothDirectoryInformation, data, size);
    walk(FileDirectoryInformation, data, size);
    return 0;
}
