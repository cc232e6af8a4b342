// SPDX-License-Identifier: MIT
// Linked into berthd-static only, before libarchive.a. The pax writer calls this libarchive
// internal, which lives in archive_write_set_format.o next to the table of every writer; taking
// that member in would pull the xar writer and with it libxml2, ICU and libstdc++ into the static
// binary. Same behaviour as libarchive's own (an error naming the file type), without the table.
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry,
                                                const char *format);

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry,
                                                const char *format)
{
    const char *name = "this file type";
    switch (archive_entry_filetype(entry)) {
    case AE_IFDIR:
        name = "directories";
        break;
    case AE_IFLNK:
        name = "symbolic links";
        break;
    case AE_IFCHR:
        name = "character devices";
        break;
    case AE_IFBLK:
        name = "block devices";
        break;
    case AE_IFIFO:
        name = "named pipes";
        break;
    case AE_IFSOCK:
        name = "sockets";
        break;
    default:
        break;
    }
    archive_set_error(a, EINVAL, "%s: %s format cannot archive %s", archive_entry_pathname(entry),
                      format, name);
}
