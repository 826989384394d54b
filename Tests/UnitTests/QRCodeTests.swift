import Foundation
import Pages
import Testing

@Suite("QR code encoder: versions, a real decoder, SVG")
struct QRCodeTests {
    /// 63 URLs from 10 to 298 bytes: hand-picked shapes (query strings, percent-escapes, UTF-8) and a sweep of
    /// lengths that covers versions 1–13 at M and 1–16 at Q.
    static let urls: [String] = {
        let picked = [
            "http://q.l",
            "https://x.io/a",
            "http://127.0.0.1:8080/s/k7m2p?source=screen:main",
            "https://undersigned.example/s/k7m2p",
            "https://undersigned.example/p/7f3a9c?lang=fr&ref=affiche%20A3",
            "https://exemple.fr/pétition/école?ville=Besançon&œuvre=oui",
            "https://例え.jp/署名?q=テスト&lang=ja",
            "https://example.org/search?q=%E2%9C%93+signed&page=2#results",
            "http://localhost:8080/s/abc?source=qr&utm_medium=print&utm_campaign=spring-2025",
            "https://example.com/ünïcödé/😀?emoji=✅&n=1",
            "https://пример.рф/подписать?кампания=весна",
            "http://10.0.0.7:9000/s/Zx9_Qw-3?source=poster%3Alobby&sig=a%2Fb%2Bc%3D%3D",
            "https://undersigned.example/s/k7m2p?source=screen:main&lang=de&ref=Stra%C3%9Fe&back=https%3A%2F%2Fexample.org%2F%3Fa%3D1%26b%3D2",
            "https://a.example/x?list=1,2,3&empty=&flag&tilde=~user&star=*&paren=(x)&bang=!&semi=;&at=@",
        ]
        let filler = "http://127.0.0.1:8080/s/k7m2p?source=screen:main&campaign=spring%2D2025&ref="
            + String(repeating: "Abc-123_xyz.~%20QR", count: 20)
        let sweep = stride(from: 10, through: 300, by: 6).map { String(filler.prefix($0)) }
        return picked + sweep
    }()

    static let zbarimg = "/usr/bin/zbarimg"

    /// Runs zbarimg on `files` in one call and returns its standard output. Only QR codes are looked for (a
    /// barcode reader also finds stray linear codes in a busy symbol), and `-Sbinary` gives the payload bytes as
    /// they are: without it zbar guesses a character set and reads some UTF-8 as Shift-JIS. Binary output has
    /// no separator, so one call prints the payloads back to back, in the order of the files.
    static func decode(_ files: [String]) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zbarimg)
        process.arguments = ["-q", "--raw", "--nodbus", "-Sdisable", "-Sqrcode.enable", "-Sbinary"] + files
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return data
    }

    @Test("the smallest version that holds the bytes; tooLong past version 40")
    func versions() throws {
        let bytes = { (count: Int) in [UInt8](repeating: 0x61, count: count) }
        #expect(try QRCode(bytes: bytes(14)).version == 1, "version 1-M holds 14 bytes")
        #expect(try QRCode(bytes: bytes(14)).size == 21)
        #expect(try QRCode(bytes: bytes(15)).version == 2)
        #expect(try QRCode(bytes: bytes(15)).size == 25)
        #expect(try QRCode(bytes: bytes(26)).version == 2)
        #expect(try QRCode(bytes: bytes(27)).version == 3)
        #expect(try QRCode(bytes: bytes(180)).version == 9)
        #expect(try QRCode(bytes: bytes(181)).version == 10, "the 16-bit count starts at version 10")
        #expect(try QRCode(bytes: bytes(17), correction: .low).version == 1)
        #expect(try QRCode(bytes: bytes(11), correction: .quartile).version == 1)
        #expect(try QRCode(bytes: bytes(8), correction: .high).version == 2)
        #expect(try QRCode(bytes: bytes(2331)).version == 40)
        #expect(try QRCode(bytes: bytes(2331)).size == 177)
        #expect(throws: QRCode.EncodingError.tooLong(bytes: 2332, maximum: 2331)) { try QRCode(bytes: bytes(2332)) }
        #expect(throws: QRCode.EncodingError.tooLong(bytes: 2954, maximum: 2953)) {
            try QRCode(bytes: bytes(2954), correction: .low)
        }
        #expect(try QRCode(text: "é") == QRCode(bytes: [0xC3, 0xA9]), "text is encoded as UTF-8")

        let code = try QRCode(text: "http://q.l")
        #expect(code[0, 0] && code[6, 6] && !code[7, 7] && code[code.size - 1, 0] && code[0, code.size - 1],
                "finder patterns in three corners")
        #expect((8..<code.size - 8).allSatisfy { code[$0, 6] == ($0 % 2 == 0) && code[6, $0] == ($0 % 2 == 0) },
                "timing patterns")
        #expect(code[8, code.size - 8], "the dark module")
        #expect(!code[-1, 0] && !code[0, code.size], "outside is the light quiet zone")
    }

    @Test("zbarimg reads every URL back", arguments: [QRCode.Correction.medium, .quartile])
    func decodes(correction: QRCode.Correction) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.zbarimg),
                     "\(Self.zbarimg) is missing: apt-get install zbar-tools")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qrcode-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        var files: [String] = [], versions: Set<Int> = []
        for (index, url) in Self.urls.enumerated() {
            let code = try QRCode(text: url, correction: correction)
            versions.insert(code.version)
            let file = directory.appendingPathComponent("\(index).pgm")
            try Data(code.pgm()).write(to: file)
            files.append(file.path)
        }
        #expect(Self.urls.count >= 60)
        #expect(versions.isSuperset(of: 1...13), "versions with and without version information, 8- and 16-bit counts")

        let decoded = try Self.decode(files)
        #expect(decoded == Data(Self.urls.joined().utf8))
        if decoded != Data(Self.urls.joined().utf8) {
            // Only on failure: one call per file, to name the URLs that do not come back.
            for (url, file) in zip(Self.urls, files) {
                let one = try Self.decode([file])
                #expect(String(decoding: one, as: UTF8.self) == url, "\(correction) \(file)")
            }
        }
    }

    @Test("the SVG: viewBox with the quiet zone, one path of exactly the dark modules, an escaped label")
    func svg() throws {
        let code = try QRCode(text: "http://127.0.0.1:8080/s/k7m2p?source=screen:main")
        let svg = code.svg(label: #"Sign <"here"> & 'now'"#)
        let side = code.size + 8
        #expect(svg.hasPrefix("<svg ") && svg.hasSuffix("</svg>"))
        #expect(svg.contains(#"viewBox="0 0 \#(side) \#(side)""#))
        #expect(svg.contains(#"shape-rendering="crispEdges""#) && svg.contains(#"role="img""#))
        #expect(svg.contains(#"aria-label="Sign &lt;&quot;here&quot;&gt; &amp; &apos;now&apos;""#))
        #expect(svg.components(separatedBy: "<path").count == 2, "one path")
        let root = svg.prefix { $0 != ">" }
        #expect(!root.contains(" width=") && !root.contains(" height="), "the page sizes it")
        #expect(svg.contains(##"fill="#000""##) && svg.contains(##"fill="#fff""##))

        let plain = code.svg(quietZone: 2)
        #expect(plain.contains(#"viewBox="0 0 \#(code.size + 4) \#(code.size + 4)""#))
        #expect(!plain.contains("aria-label"))

        // Each subpath "M x y h w v1 h-w z" is one run of dark modules in a row; together they are the dark modules.
        let path = try #require(svg.components(separatedBy: #" d=""#).last?.prefix { $0 != "\"" })
        var dark = Set<[Int]>()
        for run in path.split(separator: "M") {
            let numbers = run.split(whereSeparator: { " hvz".contains($0) }).compactMap { Int($0) }
            try #require(numbers.count == 5 && numbers[3] == 1 && numbers[4] == -numbers[2], "\(run)")
            for x in numbers[0]..<numbers[0] + numbers[2] { dark.insert([x - 4, numbers[1] - 4]) }
        }
        let expected = Set((0..<code.size).flatMap { y in (0..<code.size).filter { code[$0, y] }.map { [$0, y] } })
        #expect(dark == expected)
    }

    @Test("the PGM: P5 header, scale × (size + 2 × quiet zone) pixels a side, black on white")
    func pgm() throws {
        let code = try QRCode(text: "http://q.l")
        let image = code.pgm(scale: 3, quietZone: 2)
        let side = (code.size + 4) * 3
        let header = Array("P5\n\(side) \(side)\n255\n".utf8)
        #expect(Array(image.prefix(header.count)) == header)
        #expect(image.count == header.count + side * side)
        let pixel = { (x: Int, y: Int) in image[header.count + y * side + x] }
        #expect(pixel(0, 0) == 255 && pixel(6, 6) == 0 && pixel(8, 8) == 0, "quiet zone, then the finder")
    }
}
