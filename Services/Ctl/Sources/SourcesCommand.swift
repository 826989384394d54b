import ArgumentParser
import Foundation
import Store

/// `undersigned sources SLUG`: signatures per source, to tell which screen, stage or partner link worked.
struct SourcesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sources",
        abstract: "Count a petition's signatures per source (web, screen:NAME, utm:..., kiosk:NAME, partner:NAME, paper:NAME) and per channel.")
    @Argument var slug: String
    @Flag(help: "One JSON object instead of a table.") var json = false

    func run() throws {
        guard let rows = try SourceCounts.list(petition: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
        if json {
            let object: [String: Any] = [
                "petition": slug, "sources": rows.map { ["source": $0.source, "signatures": $0.count] }, "channels": SourceCounts.channels(rows),
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        let total = rows.reduce(0) { $0 + $1.count }
        print("source".column(32) + "signatures".column(12) + "share")
        for row in rows {
            let share = total == 0 ? 0 : Double(row.count) * 100 / Double(total)
            print(row.source.column(32) + String(row.count).column(12) + String(format: "%.1f%%", share))
        }
        let channels = SourceCounts.channels(rows)
        print("by channel: " + PetitionCount.channels.compactMap { channel in channels[channel].map { "\(channel) \($0)" } }.joined(separator: ", "))
    }
}
