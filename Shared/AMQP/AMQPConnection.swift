import CAMQPShim
import CRabbitMQ
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What the broker sent that is not a reply to a call of ours.
enum IncomingFrame {
    case ack(tag: UInt64, multiple: Bool)
    case nack(tag: UInt64, multiple: Bool)
    case returned(replyCode: Int, exchange: String, routingKey: String)
    case delivery(Delivery)
    case blocked
    case unblocked
    /// The broker cancelled our consumer (queue deleted, node down).
    case consumerCancelled
    case other
}

/// One rabbitmq-c connection with one channel (1). Not thread-safe, as rabbitmq-c requires: the thread
/// that opens it does every call on it (the publisher's and the consumer's I/O threads).
///
/// Every rabbitmq-c status and RPC reply passes through `check`, which turns it into an `AMQPError`;
/// a broker-initiated `channel.close` or `connection.close` is answered with its `close-ok` there.
final class AMQPConnection {
    let configuration: AMQPConfiguration
    private let state: amqp_connection_state_t
    private(set) var isOpen = false
    static let channel: amqp_channel_t = 1
    private let arena = CArena()
    /// Interned exchange and routing-key strings for the publish hot path.
    private var interned: [String: amqp_bytes_t] = [:]
    private let internArena = CArena()

    init(configuration: AMQPConfiguration) throws(AMQPError) {
        self.configuration = configuration
        guard let state = amqp_new_connection() else {
            throw AMQPError(code: .connection, message: "rabbitmq-c could not allocate a connection")
        }
        self.state = state
        do {
            try open()
        } catch {
            amqp_destroy_connection(state)
            throw error
        }
        isOpen = true
    }

    deinit {
        if isOpen { close() }
    }

    private func open() throws(AMQPError) {
        guard let socket = amqp_tcp_socket_new(state) else {
            throw AMQPError(code: .connection, message: "rabbitmq-c could not create a socket")
        }
        var timeout = Self.cTimeval(configuration.timeout)
        try check(status: amqp_set_handshake_timeout(state, &timeout), "setting the handshake timeout")
        try check(status: amqp_set_rpc_timeout(state, &timeout), "setting the RPC timeout")
        try check(
            status: amqp_socket_open_noblock(socket, configuration.host, Int32(configuration.port), &timeout),
            "connecting to \(configuration.host):\(configuration.port)")
        Self.boundSocket(amqp_get_sockfd(state), timeout: configuration.timeout)
        try check(
            reply: undersigned_amqp_login(
                state, configuration.virtualHost, 0, 131_072, Int32(configuration.heartbeat),
                configuration.connectionName, configuration.user, configuration.password),
            "logging in as \(configuration.user)")
        amqp_channel_open(state, Self.channel)
        try check(reply: amqp_get_rpc_reply(state), "opening a channel")
    }

    /// A dead peer must not hang a write forever (rabbitmq-c 0.11 has no send timeout of its own).
    private static func boundSocket(_ fd: Int32, timeout: Duration) {
        guard fd >= 0 else { return }
        var userTimeout = UInt32(timeout.components.seconds * 1000 * 3)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), 18 /* TCP_USER_TIMEOUT */, &userTimeout, socklen_t(MemoryLayout<UInt32>.size))
    }

    /// Closes politely (bounded by the RPC timeout), then frees everything.
    func close() {
        guard isOpen else { return }
        isOpen = false
        var short = Self.cTimeval(.seconds(2))
        amqp_set_rpc_timeout(state, &short)
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        amqp_destroy_connection(state)
    }

    /// Frees everything without talking to the broker (for a connection already known to be broken).
    func abandon() {
        guard isOpen else { return }
        isOpen = false
        amqp_destroy_connection(state)
    }

    var fileDescriptor: Int32 { amqp_get_sockfd(state) }

    /// Frames or bytes are already buffered inside rabbitmq-c: reading will not block, and `poll` on the
    /// socket would not see them.
    var hasBufferedInput: Bool {
        amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0
    }

    // MARK: Declaring

    /// Declares `topology`, or, when the configuration says the login may not (`declaresTopology`),
    /// checks with passive declares, which need no permission, that its exchanges and queues exist.
    func declare(_ topology: Topology) throws(AMQPError) {
        defer { arena.reset() }
        guard configuration.declaresTopology else {
            let none = amqp_table_t(num_entries: 0, entries: nil)
            for exchange in topology.exchanges {
                amqp_exchange_declare(state, Self.channel, arena.bytes(exchange.name), arena.bytes(exchange.type), 1, 0, 0, 0, none)
                try check(reply: amqp_get_rpc_reply(state), "looking up exchange \(exchange.name) (made by `undersigned broker setup`)")
            }
            for queue in topology.queues {
                amqp_queue_declare(state, Self.channel, arena.bytes(queue.name), 1, 0, 0, 0, none)
                try check(reply: amqp_get_rpc_reply(state), "looking up queue \(queue.name) (made by `undersigned broker setup`)")
            }
            return
        }
        for exchange in topology.exchanges {
            amqp_exchange_declare(
                state, Self.channel, arena.bytes(exchange.name), arena.bytes(exchange.type),
                0, 1, 0, 0, amqp_table_t(num_entries: 0, entries: nil))
            try check(reply: amqp_get_rpc_reply(state), "declaring exchange \(exchange.name)")
        }
        for queue in topology.queues {
            amqp_queue_declare(state, Self.channel, arena.bytes(queue.name), 0, 1, 0, 0, arena.table(queue.arguments))
            try check(reply: amqp_get_rpc_reply(state), "declaring queue \(queue.name)")
        }
        for binding in topology.bindings {
            amqp_queue_bind(
                state, Self.channel, arena.bytes(binding.queue), arena.bytes(binding.exchange),
                arena.bytes(binding.routingKey), amqp_table_t(num_entries: 0, entries: nil))
            try check(reply: amqp_get_rpc_reply(state), "binding \(binding.queue) to \(binding.exchange)")
        }
    }

    /// Number of messages ready in `queue` (a passive declare), or nil when it does not exist.
    func messageCount(queue: String) throws(AMQPError) -> (messages: Int, consumers: Int) {
        defer { arena.reset() }
        let ok = amqp_queue_declare(state, Self.channel, arena.bytes(queue), 1, 0, 0, 0, amqp_table_t(num_entries: 0, entries: nil))
        try check(reply: amqp_get_rpc_reply(state), "looking up queue \(queue)")
        return (Int(ok!.pointee.message_count), Int(ok!.pointee.consumer_count))
    }

    func purge(queue: String) throws(AMQPError) {
        defer { arena.reset() }
        amqp_queue_purge(state, Self.channel, arena.bytes(queue))
        try check(reply: amqp_get_rpc_reply(state), "purging queue \(queue)")
    }

    func deleteQueue(_ queue: String) throws(AMQPError) {
        defer { arena.reset() }
        amqp_queue_delete(state, Self.channel, arena.bytes(queue), 0, 0)
        try check(reply: amqp_get_rpc_reply(state), "deleting queue \(queue)")
    }

    func deleteExchange(_ exchange: String) throws(AMQPError) {
        defer { arena.reset() }
        amqp_exchange_delete(state, Self.channel, arena.bytes(exchange), 0)
        try check(reply: amqp_get_rpc_reply(state), "deleting exchange \(exchange)")
    }

    // MARK: Publishing

    func confirmSelect() throws(AMQPError) {
        amqp_confirm_select(state, Self.channel)
        try check(reply: amqp_get_rpc_reply(state), "enabling publisher confirms")
    }

    func publish(_ message: OutgoingMessage) throws(AMQPError) {
        defer { arena.reset() }
        var properties = arena.properties(message.properties)
        // Room for both names before either is interned: a reset between the two would free the first
        // one's bytes while the publish below still reads them.
        if interned.count + 2 > Self.maximumInterned, interned[message.exchange] == nil || interned[message.routingKey] == nil {
            interned.removeAll()
            internArena.reset()
        }
        let exchange = intern(message.exchange)
        let routingKey = intern(message.routingKey)
        let status = message.body.withUnsafeBytes { body in
            amqp_basic_publish(
                state, Self.channel, exchange, routingKey, message.mandatory ? 1 : 0, 0, &properties,
                amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
        try check(status: status, "publishing to \(message.exchange)")
    }

    /// Routing keys are a small set, but a partner's names are not ours to bound: at most this many are kept.
    static let maximumInterned = 1_024

    /// The bytes of `string`, kept until the next reset (which `publish` makes before interning, never
    /// between the names of one message).
    private func intern(_ string: String) -> amqp_bytes_t {
        if let bytes = interned[string] { return bytes }
        let bytes = internArena.bytes(string)
        interned[string] = bytes
        return bytes
    }

    // MARK: Consuming

    func qos(prefetch: Int) throws(AMQPError) {
        // global must be 0: quorum queues refuse global QoS with a connection error.
        amqp_basic_qos(state, Self.channel, 0, UInt16(clamping: prefetch), 0)
        try check(reply: amqp_get_rpc_reply(state), "setting prefetch")
    }

    func consume(queue: String) throws(AMQPError) -> String {
        defer { arena.reset() }
        let ok = amqp_basic_consume(
            state, Self.channel, arena.bytes(queue), amqp_bytes_t(len: 0, bytes: nil), 0, 0, 0,
            amqp_table_t(num_entries: 0, entries: nil))
        try check(reply: amqp_get_rpc_reply(state), "consuming from \(queue)")
        return ok!.pointee.consumer_tag.string
    }

    func cancel(consumerTag: String) throws(AMQPError) {
        defer { arena.reset() }
        amqp_basic_cancel(state, Self.channel, arena.bytes(consumerTag))
        try check(reply: amqp_get_rpc_reply(state), "cancelling the consumer")
    }

    func ack(_ tag: UInt64, multiple: Bool) throws(AMQPError) {
        try check(status: amqp_basic_ack(state, Self.channel, tag, multiple ? 1 : 0), "acknowledging")
    }

    func reject(_ tag: UInt64, requeue: Bool) throws(AMQPError) {
        try check(status: amqp_basic_reject(state, Self.channel, tag, requeue ? 1 : 0), "rejecting")
    }

    // MARK: Reading

    /// The next frame if one is ready (never blocks), else nil. Also sends a heartbeat when one is due.
    func pollFrame() throws(AMQPError) -> IncomingFrame? {
        var frame = amqp_frame_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
        try check(status: status, "reading from the broker")
        defer { amqp_maybe_release_buffers(state) }
        return try decode(frame)
    }

    /// The next delivery or other frame if one is ready (never blocks for a new message), else nil.
    func pollDelivery() throws(AMQPError) -> IncomingFrame? {
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let reply = amqp_consume_message(state, &envelope, &zero, 0)
        if reply.reply_type == AMQP_RESPONSE_NORMAL {
            defer {
                amqp_destroy_envelope(&envelope)
                // Right after a whole message the decoder is idle, so the frame pools can surely be
                // recycled; under steady inflow the call at the top may find the next frame half read.
                amqp_maybe_release_buffers(state)
            }
            return .delivery(Delivery(
                deliveryTag: envelope.delivery_tag,
                redelivered: envelope.redelivered != 0,
                exchange: envelope.exchange.string,
                routingKey: envelope.routing_key.string,
                body: envelope.message.body.array,
                properties: envelope.message.properties.swiftValue))
        }
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION {
            if reply.library_error == AMQP_STATUS_TIMEOUT.rawValue { return nil }
            if reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue {
                // A frame other than basic.deliver was put back; read it now.
                var frame = amqp_frame_t()
                try check(status: amqp_simple_wait_frame(state, &frame), "reading from the broker")
                return try decode(frame)
            }
        }
        try check(reply: reply, "consuming")
        return .other
    }

    private func decode(_ frame: amqp_frame_t) throws(AMQPError) -> IncomingFrame {
        guard frame.frame_type == AMQP_FRAME_METHOD else { return .other }
        let decoded = frame.payload.method.decoded
        switch frame.payload.method.id {
        case AMQP_BASIC_ACK_METHOD:
            let ack = decoded!.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
            return .ack(tag: ack.delivery_tag, multiple: ack.multiple != 0)
        case AMQP_BASIC_NACK_METHOD:
            let nack = decoded!.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
            return .nack(tag: nack.delivery_tag, multiple: nack.multiple != 0)
        case AMQP_BASIC_RETURN_METHOD:
            let returned = decoded!.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
            let result = IncomingFrame.returned(
                replyCode: Int(returned.reply_code), exchange: returned.exchange.string,
                routingKey: returned.routing_key.string)
            // The returned message's header and body frames follow; drain them.
            var message = amqp_message_t()
            let reply = amqp_read_message(state, frame.channel, &message, 0)
            if reply.reply_type == AMQP_RESPONSE_NORMAL { amqp_destroy_message(&message) }
            try check(reply: reply, "reading a returned message")
            return result
        case AMQP_CHANNEL_CLOSE_METHOD:
            let close = decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            var ok = amqp_channel_close_ok_t(dummy: 0)
            amqp_send_method(state, frame.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
            throw AMQPError(code: .channelClosed, replyCode: Int(close.reply_code), message: close.reply_text.string)
        case AMQP_CONNECTION_CLOSE_METHOD:
            let close = decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            var ok = amqp_connection_close_ok_t(dummy: 0)
            amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
            throw AMQPError(code: .connectionClosed, replyCode: Int(close.reply_code), message: close.reply_text.string)
        case AMQP_CONNECTION_BLOCKED_METHOD:
            return .blocked
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            return .unblocked
        case AMQP_BASIC_CANCEL_METHOD:
            return .consumerCancelled
        default:
            return .other
        }
    }

    // MARK: Checking

    private func check(status: Int32, _ context: @autoclosure () -> String) throws(AMQPError) {
        guard status < 0 else { return }
        throw AMQPError(
            code: .connection, libraryStatus: status,
            message: "\(context()): \(String(cString: amqp_error_string2(status)))")
    }

    private func check(reply: amqp_rpc_reply_t, _ context: @autoclosure () -> String) throws(AMQPError) {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            throw AMQPError(
                code: .connection, libraryStatus: reply.library_error,
                message: "\(context()): \(String(cString: amqp_error_string2(reply.library_error)))")
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            switch reply.reply.id {
            case AMQP_CHANNEL_CLOSE_METHOD:
                let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
                var ok = amqp_channel_close_ok_t(dummy: 0)
                amqp_send_method(state, Self.channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok)
                throw AMQPError(code: .channelClosed, replyCode: Int(close.reply_code), message: "\(context()): \(close.reply_text.string)")
            case AMQP_CONNECTION_CLOSE_METHOD:
                let close = reply.reply.decoded!.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
                var ok = amqp_connection_close_ok_t(dummy: 0)
                amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
                throw AMQPError(code: .connectionClosed, replyCode: Int(close.reply_code), message: "\(context()): \(close.reply_text.string)")
            default:
                throw AMQPError(code: .connection, message: "\(context()): unexpected method \(reply.reply.id)")
            }
        default:
            throw AMQPError(code: .connection, message: "\(context()): no reply from the broker")
        }
    }

    static func cTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
