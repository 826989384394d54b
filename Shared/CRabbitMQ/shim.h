// Debian's librabbitmq-dev 0.11 installs its headers at the top of /usr/include (no rabbitmq-c/ folder).
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
