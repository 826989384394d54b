import AMQP
import Foundation
import Messaging
import Testing

/// `deploy/rabbitmq/definitions.json` (loaded by the broker in docker-compose and Kubernetes) and the
/// topology every service declares at connect time must be the same, or a service would fail its
/// declare (PRECONDITION_FAILED) against a broker provisioned from the file.
@Suite("Topology as one truth")
struct TopologyDefinitionsTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/rabbitmq/definitions.json")

    @Test func definitionsFileMatchesTheCode() throws {
        let definitions = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.file)) as! [String: Any]
        let fromFile = try Self.topology(from: definitions)
        let code = Topology.undersigned()
        #expect(Set(fromFile.exchanges.map(\.name)) == Set(code.exchanges.map(\.name)))
        for exchange in code.exchanges {
            #expect(fromFile.exchanges.first { $0.name == exchange.name } == exchange, "exchange \(exchange.name)")
        }
        #expect(Set(fromFile.queues.map(\.name)) == Set(code.queues.map(\.name)))
        for queue in code.queues {
            #expect(fromFile.queues.first { $0.name == queue.name } == queue, "queue \(queue.name)")
        }
        let key = { (b: Topology.Binding) in "\(b.exchange) -> \(b.queue) [\(b.routingKey)]" }
        #expect(Set(fromFile.bindings.map(key)) == Set(code.bindings.map(key)))
        for entry in (definitions["exchanges"] as! [[String: Any]]) + (definitions["queues"] as! [[String: Any]]) {
            #expect(entry["durable"] as? Bool == true, "\(entry["name"] ?? "?") must be durable")
        }
    }

    @Test("the Kubernetes ConfigMap embeds the same definitions")
    func kubernetesCopyMatches() throws {
        let yaml = try String(contentsOf: Self.file.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("k8s/base/rabbitmq-definitions.yaml"), encoding: .utf8)
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("  definitions.json: |") })
        let block = lines[(start + 1)...].prefix { $0.hasPrefix("    ") || $0.isEmpty }.map { $0.dropFirst(min(4, $0.count)) }
        let embedded = try JSONSerialization.jsonObject(with: Data(block.joined(separator: "\n").utf8)) as! NSDictionary
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.file)) as! NSDictionary
        #expect(embedded == file)
    }

    @Test func aPlantedDifferenceIsFound() throws {
        var definitions = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.file)) as! [String: Any]
        var queues = definitions["queues"] as! [[String: Any]]
        var arguments = queues[0]["arguments"] as! [String: Any]
        arguments["x-delivery-limit"] = 11
        queues[0]["arguments"] = arguments
        definitions["queues"] = queues
        #expect(try Self.topology(from: definitions).queues != Topology.undersigned().queues)
    }

    static func topology(from definitions: [String: Any]) throws -> Topology {
        let exchanges = (definitions["exchanges"] as! [[String: Any]]).map {
            Topology.Exchange(name: $0["name"] as! String, type: $0["type"] as! String)
        }
        let queues = try (definitions["queues"] as! [[String: Any]]).map { queue in
            Topology.Queue(name: queue["name"] as! String, arguments: try (queue["arguments"] as! [String: Any]).mapValues(fieldValue))
        }
        let bindings = (definitions["bindings"] as! [[String: Any]]).map {
            Topology.Binding(queue: $0["destination"] as! String, exchange: $0["source"] as! String, routingKey: $0["routing_key"] as! String)
        }
        let order = Dictionary(uniqueKeysWithValues: Topology.undersigned().queues.enumerated().map { ($1.name, $0) })
        return Topology(exchanges: exchanges, queues: queues.sorted { order[$0.name, default: .max] < order[$1.name, default: .max] }, bindings: bindings)
    }

    static func fieldValue(_ value: Any) throws -> FieldValue {
        switch value {
        case let text as String: return .string(text)
        case let number as Int: return .int(Int64(number))
        case let flag as Bool: return .bool(flag)
        default: throw CocoaError(.coderInvalidValue)
        }
    }
}
