/* The floor of `make bench`'s CGI start-up figure (test/bench/webmail.sh):
 * the smallest dynamic CGI, linked with libc only, answering one request
 * with a status, a content type and a line of text. */
#include <stdio.h>

int main(void)
{
	fputs("Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, world\n",
	      stdout);
	return 0;
}
