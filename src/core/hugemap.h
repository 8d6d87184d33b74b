/*
 * core/hugemap — a read-only file mapping's pages brought in before a run
 * reads them, on 2 MiB pages where the kernel can give them.
 *
 * Decode reads every weight once per token through the model's mapping.
 * The kernel maps page-cache folios of 2 MiB with 2 MiB pages and smaller
 * folios with 4 KiB pages, and decode reads the latter about 13 % slower
 * (the same cached pages mapped each way, bench/README 2026-11-27 17:52Z;
 * files read afresh, 22:32Z). The folio sizes are
 * decided when the file's pages come into the cache: core/alignw's writes
 * and a first touch through a mapping that asked for huge pages
 * (gguf_read.c) make 2 MiB folios, but a file read in some other way
 * (small reads without readahead, a mapping that did not ask) is held in
 * small ones for as long as it stays cached: at 22:10Z a bench model held
 * 24 % of itself that way and decoded at 44-45 tok/s, 47-48 once read in
 * again.
 *
 * hrt_hugemap_settle reads the whole mapping in at once
 * (MADV_POPULATE_READ) and, when the kernel maps less than most of it with
 * 2 MiB pages, drops the file's cached pages (POSIX_FADV_DONTNEED: only
 * those no other process maps) and reads them in again through the
 * mapping, which now come in as 2 MiB folios. That costs one read of the
 * file from disk, once: later opens find the huge folios cached. It does
 * so only where a probe shows that it helps: the file's last 2 MiB,
 * dropped and read in again the same way first, came back as one folio.
 * Where the kernel or the file system makes no huge folios (THP off, file
 * systems without large folios) the probe says so, and every open would
 * otherwise read the file again for nothing.
 */
#ifndef HRT_CORE_HUGEMAP_H
#define HRT_CORE_HUGEMAP_H

#include <stdbool.h>
#include <stddef.h>

#define HRT_HUGEMAP_PAGE ((size_t)2 << 20)

/* the share of the 2 MiB pages a mapping could have below which settle
 * reads it in again, unless the environment says otherwise */
#define HRT_HUGEMAP_MIN_SHARE 0.9

struct hrt_hugemap_report {
	double mapped_2m;  /* bytes mapped with 2 MiB pages after; -1 unknown */
	double before_2m;  /* the same before any read-again; -1 unknown */
	size_t can_2m;     /* bytes of the whole 2 MiB pages in the mapping */
	bool huge_ok;      /* the probe's 2 MiB came back as one folio */
	bool populated;    /* the pages were read in at once */
	bool recached;     /* and dropped and read in again */
};

/*
 * The mapping [base, base + size) of the open file fd (base as mmap
 * returned it, read-only, from offset 0, asked for huge pages) read in
 * now; probed and read in again as above when mapped_2m < recache_below
 * of can_2m (0: never). Does nothing where the
 * kernel lacks MADV_POPULATE_READ (Linux 5.14), or when the file is
 * larger than half the machine's memory (it could not stay in at once).
 * Advisory: nothing here fails the caller; r (may be NULL) says what was
 * done.
 */
void hrt_hugemap_settle(int fd, const void *base, size_t size, double recache_below,
			struct hrt_hugemap_report *r);

/* settle's recache_below as the environment asks: HEARTH_RECACHE=0 never
 * reads a file again, a share in (0, 1] (e.g. 0.99, as bench/run.sh sets
 * it, where a few small folios would blur a comparison) sets it, and
 * anything else or nothing gives HRT_HUGEMAP_MIN_SHARE */
double hrt_hugemap_recache_share(void);

/* the file fd (size bytes from offset 0) mapped read-only and private,
 * starting on a 2 MiB boundary when it is at least 2 MiB long (a 2 MiB
 * folio at file offset k * 2 MiB can be mapped whole only at an address
 * that is one; not every file system's mappings start on one by
 * themselves); munmap(p, size) frees it. MAP_FAILED with errno set. */
void *hrt_hugemap_map(int fd, size_t size);

/* bytes of the mapping starting at base (page-aligned, as mmap returned
 * it) that the kernel maps with 2 MiB pages (FilePmdMapped in
 * /proc/self/smaps), or -1 where it does not say */
double hrt_hugemap_mapped_2m(const void *base);

#endif
