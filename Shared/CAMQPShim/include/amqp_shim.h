#ifndef UNDERSIGNED_AMQP_SHIM_H
#define UNDERSIGNED_AMQP_SHIM_H

#include <amqp.h>

/// Logs in with SASL PLAIN. `amqp_login_with_properties` is variadic, which Swift cannot call.
///
/// Announces the `connection.blocked`, `consumer_cancel_notify`, `publisher_confirms` and
/// `basic.nack` capabilities, which rabbitmq-c 0.11 does not announce by itself, so the broker
/// tells us when it blocks publishers and when it cancels a consumer.
amqp_rpc_reply_t undersigned_amqp_login(amqp_connection_state_t state, const char *vhost,
                                        int channel_max, int frame_max, int heartbeat,
                                        const char *connection_name,
                                        const char *user, const char *password);

#endif
