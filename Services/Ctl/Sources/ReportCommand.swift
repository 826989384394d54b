import ArgumentParser
import Foundation
import Models
import Store

/// `undersigned report SLUG`: what the call did, as a chart to look at and a JSON file to read.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw a petition's call: accepted and counted over time, lag, duplicates, refusals, channels, sources, milestones.",
        discussion: """
            Writes DIR/SLUG-report.svg (a chart) and DIR/SLUG-report.json. Its totals are the database's: accepted is the \
            signatures stored between the times, counted those tally counted (what `undersigned recount` checks).
            """)

    @Argument var slug: String
    @Option(help: "From (RFC 3339); default: the first signature.") var from: String?
    @Option(help: "To (RFC 3339); default: now.") var to: String?
    @Option(help: "Where the files go.") var out = "."
    @Flag(help: "The petition's rehearsal instead.") var rehearsal = false

    func validate() throws {
        for (option, value) in [("--from", from), ("--to", to)] {
            if let value, Timestamp.parse(value) == nil { throw ValidationError("\(option) must be an RFC 3339 time") }
        }
    }

    func run() throws {
        let connection = try Environment().connect()
        guard let report = try CallReport.load(
            slug: slug, rehearsal: rehearsal, from: from.flatMap(Timestamp.parse), to: to.flatMap(Timestamp.parse), on: connection)
        else { throw ValidationError(rehearsal ? "no rehearsal of \(slug)" : "no petition \(slug)") }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: out).appendingPathComponent("\(report.petition)-report")
        try Data(ReportChart(report: report).svg.utf8).write(to: base.appendingPathExtension("svg"))
        try JSONSerialization.data(withJSONObject: report.json, options: [.sortedKeys, .prettyPrinted]).write(to: base.appendingPathExtension("json"))
        let duplicates = report.refusals["duplicate"] ?? 0
        print("""
            \(report.petition): \(report.accepted) accepted, \(report.counted) counted, \(duplicates) duplicates, \
            \(report.refusals.values.reduce(0, +) - duplicates) refused, \(report.milestones.count) milestones \
            (\(Timestamp.format(report.from)) to \(Timestamp.format(report.to)))
            by channel: \(Counts.channelOrder.compactMap { channel in report.byChannel[channel].map { "\(channel) \($0)" } }.joined(separator: ", "))
            chart: \(base.path).svg
            data:  \(base.path).json
            """)
    }
}
