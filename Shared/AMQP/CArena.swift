import CRabbitMQ
import Foundation

/// C memory for one call into rabbitmq-c (strings, tables, properties), freed all at once.
/// rabbitmq-c copies what it sends, so the arena lives only as long as the call.
final class CArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit {
        reset()
    }

    func reset() {
        for allocation in allocations { free(allocation) }
        allocations.removeAll(keepingCapacity: true)
    }

    func bytes(_ string: String) -> amqp_bytes_t {
        bytes(Array(string.utf8))
    }

    func bytes(_ array: [UInt8]) -> amqp_bytes_t {
        guard !array.isEmpty else { return amqp_bytes_t(len: 0, bytes: nil) }
        let memory = malloc(array.count)!
        allocations.append(memory)
        array.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: array.count) }
        return amqp_bytes_t(len: array.count, bytes: memory)
    }

    func cString(_ string: String) -> UnsafePointer<CChar> {
        let memory = strdup(string)!
        allocations.append(UnsafeMutableRawPointer(memory))
        return UnsafePointer(memory)
    }

    func table(_ fields: [String: FieldValue]) -> amqp_table_t {
        guard !fields.isEmpty else { return amqp_table_t(num_entries: 0, entries: nil) }
        let entries = allocate(amqp_table_entry_t.self, count: fields.count)
        for (index, (key, value)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
            entries[index] = amqp_table_entry_t(key: bytes(key), value: field(value))
        }
        return amqp_table_t(num_entries: Int32(fields.count), entries: entries)
    }

    private func field(_ value: FieldValue) -> amqp_field_value_t {
        var field = amqp_field_value_t()
        switch value {
        case .string(let string):
            field.kind = UInt8(AMQP_FIELD_KIND_UTF8.rawValue)
            field.value.bytes = bytes(string)
        case .int(let int):
            field.kind = UInt8(AMQP_FIELD_KIND_I64.rawValue)
            field.value.i64 = int
        case .bool(let bool):
            field.kind = UInt8(AMQP_FIELD_KIND_BOOLEAN.rawValue)
            field.value.boolean = bool ? 1 : 0
        case .double(let double):
            field.kind = UInt8(AMQP_FIELD_KIND_F64.rawValue)
            field.value.f64 = double
        case .timestamp(let seconds):
            field.kind = UInt8(AMQP_FIELD_KIND_TIMESTAMP.rawValue)
            field.value.u64 = seconds
        case .bytes(let data):
            field.kind = UInt8(AMQP_FIELD_KIND_BYTES.rawValue)
            field.value.bytes = bytes(data)
        case .table(let table):
            field.kind = UInt8(AMQP_FIELD_KIND_TABLE.rawValue)
            field.value.table = self.table(table)
        case .array(let values):
            field.kind = UInt8(AMQP_FIELD_KIND_ARRAY.rawValue)
            let entries = allocate(amqp_field_value_t.self, count: max(values.count, 1))
            for (index, value) in values.enumerated() { entries[index] = self.field(value) }
            field.value.array = amqp_array_t(num_entries: Int32(values.count), entries: entries)
        case .void:
            field.kind = UInt8(AMQP_FIELD_KIND_VOID.rawValue)
        }
        return field
    }

    func properties(_ properties: MessageProperties) -> amqp_basic_properties_t {
        var p = amqp_basic_properties_t()
        var flags: UInt32 = 0
        // Each optional text property: its bytes in the arena and its flag, when present.
        func text(_ value: String?, _ field: WritableKeyPath<amqp_basic_properties_t, amqp_bytes_t>, _ flag: some BinaryInteger) {
            guard let value else { return }
            p[keyPath: field] = bytes(value)
            flags |= UInt32(flag)
        }
        text(properties.contentType, \.content_type, AMQP_BASIC_CONTENT_TYPE_FLAG)
        p.delivery_mode = UInt8(properties.persistent ? AMQP_DELIVERY_PERSISTENT.rawValue : AMQP_DELIVERY_NONPERSISTENT.rawValue)
        flags |= UInt32(AMQP_BASIC_DELIVERY_MODE_FLAG)
        text(properties.messageID, \.message_id, AMQP_BASIC_MESSAGE_ID_FLAG)
        text(properties.userID, \.user_id, AMQP_BASIC_USER_ID_FLAG)
        text(properties.type, \.type, AMQP_BASIC_TYPE_FLAG)
        text(properties.appID, \.app_id, AMQP_BASIC_APP_ID_FLAG)
        text(properties.correlationID, \.correlation_id, AMQP_BASIC_CORRELATION_ID_FLAG)
        if let timestamp = properties.timestamp {
            p.timestamp = timestamp
            flags |= UInt32(AMQP_BASIC_TIMESTAMP_FLAG)
        }
        if !properties.headers.isEmpty {
            p.headers = table(properties.headers)
            flags |= UInt32(AMQP_BASIC_HEADERS_FLAG)
        }
        p._flags = flags
        return p
    }

    private func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let memory = calloc(count, MemoryLayout<T>.stride)!
        allocations.append(memory)
        return memory.bindMemory(to: T.self, capacity: count)
    }
}

// Reading C values into Swift ones.
extension amqp_bytes_t {
    var array: [UInt8] {
        guard len > 0, let bytes else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: len))
    }

    var string: String {
        String(decoding: array, as: UTF8.self)
    }
}

extension amqp_table_t {
    var fields: [String: FieldValue] {
        var result: [String: FieldValue] = [:]
        guard num_entries > 0, let entries else { return result }
        for index in 0..<Int(num_entries) {
            result[entries[index].key.string] = entries[index].value.swiftValue
        }
        return result
    }
}

extension amqp_field_value_t {
    var swiftValue: FieldValue {
        switch UInt32(kind) {
        case AMQP_FIELD_KIND_UTF8.rawValue: .string(value.bytes.string)
        case AMQP_FIELD_KIND_BYTES.rawValue: .bytes(value.bytes.array)
        case AMQP_FIELD_KIND_BOOLEAN.rawValue: .bool(value.boolean != 0)
        case AMQP_FIELD_KIND_I8.rawValue: .int(Int64(value.i8))
        case AMQP_FIELD_KIND_U8.rawValue: .int(Int64(value.u8))
        case AMQP_FIELD_KIND_I16.rawValue: .int(Int64(value.i16))
        case AMQP_FIELD_KIND_U16.rawValue: .int(Int64(value.u16))
        case AMQP_FIELD_KIND_I32.rawValue: .int(Int64(value.i32))
        case AMQP_FIELD_KIND_U32.rawValue: .int(Int64(value.u32))
        case AMQP_FIELD_KIND_I64.rawValue: .int(value.i64)
        case AMQP_FIELD_KIND_U64.rawValue: .int(Int64(truncatingIfNeeded: value.u64))
        case AMQP_FIELD_KIND_F32.rawValue: .double(Double(value.f32))
        case AMQP_FIELD_KIND_F64.rawValue: .double(value.f64)
        case AMQP_FIELD_KIND_TIMESTAMP.rawValue: .timestamp(value.u64)
        case AMQP_FIELD_KIND_TABLE.rawValue: .table(value.table.fields)
        case AMQP_FIELD_KIND_ARRAY.rawValue:
            .array((0..<Int(value.array.num_entries)).map { value.array.entries[$0].swiftValue })
        default: .void
        }
    }
}

extension amqp_basic_properties_t {
    var swiftValue: MessageProperties {
        func has(_ flag: Int32) -> Bool { _flags & UInt32(flag) != 0 }
        return MessageProperties(
            contentType: has(AMQP_BASIC_CONTENT_TYPE_FLAG) ? content_type.string : nil,
            persistent: has(AMQP_BASIC_DELIVERY_MODE_FLAG) && delivery_mode == UInt8(AMQP_DELIVERY_PERSISTENT.rawValue),
            messageID: has(AMQP_BASIC_MESSAGE_ID_FLAG) ? message_id.string : nil,
            userID: has(AMQP_BASIC_USER_ID_FLAG) ? user_id.string : nil,
            type: has(AMQP_BASIC_TYPE_FLAG) ? type.string : nil,
            appID: has(AMQP_BASIC_APP_ID_FLAG) ? app_id.string : nil,
            correlationID: has(AMQP_BASIC_CORRELATION_ID_FLAG) ? correlation_id.string : nil,
            timestamp: has(AMQP_BASIC_TIMESTAMP_FLAG) ? timestamp : nil,
            headers: has(AMQP_BASIC_HEADERS_FLAG) ? headers.fields : [:])
    }
}
