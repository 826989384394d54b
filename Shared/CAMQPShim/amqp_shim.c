#include "amqp_shim.h"

amqp_rpc_reply_t undersigned_amqp_login(amqp_connection_state_t state, const char *vhost,
                                        int channel_max, int frame_max, int heartbeat,
                                        const char *connection_name,
                                        const char *user, const char *password) {
  amqp_table_entry_t capabilities[4];
  const char *names[4] = {"connection.blocked", "consumer_cancel_notify", "publisher_confirms",
                          "basic.nack"};
  for (int i = 0; i < 4; i++) {
    capabilities[i].key = amqp_cstring_bytes(names[i]);
    capabilities[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capabilities[i].value.value.boolean = 1;
  }
  amqp_table_entry_t properties[2];
  properties[0].key = amqp_cstring_bytes("capabilities");
  properties[0].value.kind = AMQP_FIELD_KIND_TABLE;
  properties[0].value.value.table.num_entries = 4;
  properties[0].value.value.table.entries = capabilities;
  properties[1].key = amqp_cstring_bytes("connection_name");
  properties[1].value.kind = AMQP_FIELD_KIND_UTF8;
  properties[1].value.value.bytes = amqp_cstring_bytes(connection_name);
  amqp_table_t table = {2, properties};
  return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat, &table,
                                    AMQP_SASL_METHOD_PLAIN, user, password);
}
