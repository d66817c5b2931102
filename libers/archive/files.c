/* Files of the archive directory: written with their SHA-256 on the way,
 * read back for it, fsync'd with their directory. */
#include <fcntl.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "archive/internal.h"

ssize_t ers_archive_out_write(void *arg, const void *buf, size_t n)
{
	struct ers_archive_out *o = arg;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(o->fd, (const char *)buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->error = w < 0 ? errno : ENOSPC;
			errno = o->error;
			return -1;
		}
		done += (size_t)w;
	}
	if (o->md)
		EVP_DigestUpdate(o->md, buf, n);
	o->bytes += (long long)n;
	return (ssize_t)n;
}

ssize_t ers_archive_fd_read(void *arg, void *buf, size_t n)
{
	int fd = *(int *)arg;
	for (;;) {
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

int ers_archive_out_finish(struct ers_archive_out *o, struct ers_buf *tmp, const char *path, const char *what,
			   struct ers_error *err)
{
	int fd = o->fd;
	o->fd = -1;
	int synced = fsync(fd), e = errno;
	if (close(fd) < 0 && synced == 0) {
		synced = -1;
		e = errno;
	}
	if (synced < 0) {
		ers_error_set(err, ERS_E_IO, "writing %s: %s", path, strerror(e));
		return -1;
	}
	if (rename(tmp->data, path) < 0) {
		ers_error_set(err, ERS_E_IO, "cannot move %s into place as %s: %s", what, path, strerror(errno));
		return -1;
	}
	ers_buf_reset(tmp);
	return 0;
}

void ers_archive_hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* SHA-256 of a file, read back from the disk. */
int ers_archive_file_sha256(const char *path, char out[65], long long *size_r, struct ers_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read the stored archive %s: %s", path, strerror(errno));
		return -1;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	char *buf = ers_xmalloc(1 << 16);
	long long size = 0;
	ssize_t r;
	while ((r = ers_archive_fd_read(&fd, buf, 1 << 16)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)r);
		size += r;
	}
	int e = errno;
	free(buf);
	close(fd);
	unsigned char d[32];
	EVP_DigestFinal_ex(md, d, NULL);
	EVP_MD_CTX_free(md);
	if (r < 0) {
		ers_error_set(err, ERS_E_IO, "cannot read the stored archive %s: %s", path, strerror(e));
		return -1;
	}
	ers_archive_hex(d, 32, out);
	if (size_r)
		*size_r = size;
	return 0;
}

int ers_archive_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}
