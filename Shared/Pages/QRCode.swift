import Foundation

/// A QR code (ISO/IEC 18004, model 2) holding bytes in byte mode: the module matrix and renderings of it.
public struct QRCode: Sendable, Equatable {
    /// The error-correction level; roughly 7, 15, 25 and 30 per cent of the codewords can be recovered.
    public enum Correction: Sendable { case low, medium, quartile, high }

    /// Why a payload cannot be encoded.
    public enum EncodingError: Error, Sendable, Equatable {
        /// The payload has `bytes` bytes, more than the `maximum` that version 40 holds at the requested level.
        case tooLong(bytes: Int, maximum: Int)
    }

    /// The symbol version, 1...40.
    public let version: Int
    /// Modules per side, `17 + 4 * version`.
    public let size: Int
    /// Row-major, true = dark.
    private let modules: [Bool]

    /// Encodes `bytes` in byte mode in the smallest version (1...40) that holds them at `correction`,
    /// with the mask that scores lowest on the standard's four penalty rules.
    public init(bytes: [UInt8], correction: Correction = .medium) throws(EncodingError) {
        guard let layout = (1...40).lazy.map({ Layout(version: $0, correction: correction) })
            .first(where: { bytes.count <= $0.maximumBytes })
        else {
            throw .tooLong(bytes: bytes.count, maximum: Layout(version: 40, correction: correction).maximumBytes)
        }
        var grid = Grid(size: layout.size)
        grid.drawFunctionPatterns(version: layout.version)
        grid.place(layout.codewords(for: bytes))

        var best = grid, lowest = Int.max
        for mask in 0..<8 {
            var candidate = grid
            candidate.apply(mask: mask)
            candidate.drawFormat(correction: correction, mask: mask)
            let penalty = candidate.penalty()
            if penalty < lowest { (best, lowest) = (candidate, penalty) }  // a tie keeps the lower mask
        }
        version = layout.version
        size = layout.size
        modules = best.dark
    }

    /// Encodes the UTF-8 bytes of `text`; see `init(bytes:correction:)`.
    public init(text: String, correction: Correction = .medium) throws(EncodingError) {
        try self.init(bytes: Array(text.utf8), correction: correction)
    }

    /// Whether the module in column `x`, row `y` is dark; anything outside the symbol is light (the quiet zone).
    public subscript(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }

    /// An SVG document: a `light` background and one `<path>` of the `dark` modules, one subpath per horizontal run.
    /// The viewBox is in modules and includes `quietZone` light modules on every side; there is no width or height,
    /// so the page sizes it. `label`, when given, becomes the (escaped) `aria-label`.
    public func svg(quietZone: Int = 4, label: String? = nil, dark: String = "#000", light: String = "#fff") -> String {
        let quiet = max(0, quietZone), side = size + 2 * quiet
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else { x += 1; continue }
                let start = x
                while self[x, y] { x += 1 }
                path += "M\(start + quiet) \(y + quiet)h\(x - start)v1h-\(x - start)z"
            }
        }
        var svg = #"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(side) \#(side)" shape-rendering="crispEdges" role="img""#
        if let label { svg += #" aria-label="\#(Self.escape(label))""# }
        svg += #"><rect width="\#(side)" height="\#(side)" fill="\#(Self.escape(light))"/>"#
        svg += #"<path fill="\#(Self.escape(dark))" d="\#(path)"/></svg>"#
        return svg
    }

    /// A binary greymap (PGM, P5): `scale` pixels per module, black on white, with `quietZone` light modules around.
    public func pgm(scale: Int = 4, quietZone: Int = 4) -> [UInt8] {
        let scale = max(1, scale), quiet = max(0, quietZone), side = (size + 2 * quiet) * scale
        var image = Array("P5\n\(side) \(side)\n255\n".utf8)
        image.reserveCapacity(image.count + side * side)
        for row in 0..<side {
            let y = row / scale - quiet
            for column in 0..<side { image.append(self[column / scale - quiet, y] ? 0 : 255) }
        }
        return image
    }

    private static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

// MARK: - Tables (ISO/IEC 18004 tables 9 and E.1)

extension QRCode.Correction {
    fileprivate var index: Int {
        switch self { case .low: 0; case .medium: 1; case .quartile: 2; case .high: 3 }
    }

    /// The level's two bits in the format information, which do not follow the L < M < Q < H order.
    fileprivate var formatBits: Int {
        switch self { case .low: 1; case .medium: 0; case .quartile: 3; case .high: 2 }
    }
}

private enum Table {
    /// Error-correction codewords per block, by level (L, M, Q, H) then version 1...40.
    static let ecPerBlock: [[Int]] = [
        [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
         28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
         26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
        [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
         28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
         30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    ]

    /// Error-correction blocks, by level (L, M, Q, H) then version 1...40.
    static let blocks: [[Int]] = [
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
         8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
        [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
         17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
        [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
         23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
        [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
         25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
    ]

    /// Alignment pattern centres by version: row/column 6, then every `step` from `size - 7` down.
    /// Index 0 and 1 are unused (version 1 has no alignment patterns).
    static let alignmentStep: [Int] = [
        0, 0, 12, 16, 20, 24, 28, 16, 18, 20, 22, 24, 26, 28, 20, 22, 24, 24, 26, 28, 28,
        22, 24, 24, 26, 26, 28, 28, 24, 24, 26, 26, 26, 28, 28, 24, 26, 26, 26, 28, 28,
    ]

    static func alignmentCentres(version: Int) -> [Int] {
        guard version > 1 else { return [] }
        let size = 17 + 4 * version, count = version / 7 + 2
        return [6] + (0..<count - 1).map { size - 7 - $0 * alignmentStep[version] }.reversed()
    }
}

// MARK: - Codewords

/// The capacity and block structure of one version at one level.
private struct Layout {
    let version, size, totalCodewords, blocks, ecPerBlock: Int

    init(version: Int, correction: QRCode.Correction) {
        self.version = version
        size = 17 + 4 * version
        blocks = Table.blocks[correction.index][version - 1]
        ecPerBlock = Table.ecPerBlock[correction.index][version - 1]
        // Modules left for data: everything minus finders with separators (3 × 64), format information and
        // the dark module (31), timing (less the parts inside finders), alignment patterns (less the timing
        // they overlap) and the version information.
        var modules = size * size - 3 * 64 - 31 - 2 * (size - 16)
        if version > 1 {
            let centres = version / 7 + 2
            modules -= 25 * (centres * centres - 3) - 10 * (centres - 2)
        }
        if version >= 7 { modules -= 2 * 18 }
        totalCodewords = modules / 8
    }

    var dataCodewords: Int { totalCodewords - blocks * ecPerBlock }
    var countBits: Int { version < 10 ? 8 : 16 }
    var maximumBytes: Int { (dataCodewords * 8 - 4 - countBits) / 8 }

    /// The final message: data and error-correction codewords, each interleaved across the blocks.
    func codewords(for bytes: [UInt8]) -> [UInt8] {
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) { bits.append(value >> shift & 1 == 1) }
        }
        append(0b0100, 4)
        append(bytes.count, countBits)
        for byte in bytes { append(Int(byte), 8) }
        append(0, min(4, dataCodewords * 8 - bits.count))
        append(0, (8 - bits.count % 8) % 8)

        var data = stride(from: 0, to: bits.count, by: 8).map { start in
            bits[start..<start + 8].reduce(UInt8(0)) { $0 << 1 | ($1 ? 1 : 0) }
        }
        for index in 0..<(dataCodewords - data.count) { data.append(index % 2 == 0 ? 0xEC : 0x11) }

        // Blocks differ by at most one data codeword; the longer ones come last.
        let shortData = totalCodewords / blocks - ecPerBlock, longBlocks = totalCodewords % blocks
        var dataBlocks: [[UInt8]] = [], start = 0
        for block in 0..<blocks {
            let count = shortData + (block >= blocks - longBlocks ? 1 : 0)
            dataBlocks.append(Array(data[start..<start + count]))
            start += count
        }
        let generator = ReedSolomon.generator(degree: ecPerBlock)
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder(of: $0, by: generator) }

        var message: [UInt8] = []
        message.reserveCapacity(totalCodewords)
        for index in 0...shortData { for block in dataBlocks where index < block.count { message.append(block[index]) } }
        for index in 0..<ecPerBlock { for block in ecBlocks { message.append(block[index]) } }
        return message
    }
}

/// Reed–Solomon error correction over GF(2⁸) with the primitive polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D).
private enum ReedSolomon {
    static let (exp, log): ([UInt8], [Int]) = {
        var exp = [UInt8](repeating: 0, count: 255), log = [Int](repeating: 0, count: 256)
        var value = 1
        for power in 0..<255 {
            exp[power] = UInt8(value)
            log[value] = power
            value <<= 1
            if value & 0x100 != 0 { value ^= 0x11D }
        }
        return (exp, log)
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        a == 0 || b == 0 ? 0 : exp[(log[Int(a)] + log[Int(b)]) % 255]
    }

    /// The coefficients, highest power first, of (x − α⁰)(x − α¹)…(x − α^(degree−1)).
    static func generator(degree: Int) -> [UInt8] {
        var polynomial: [UInt8] = [1]
        for power in 0..<degree {
            var next = polynomial + [0]
            for (index, coefficient) in polynomial.enumerated() { next[index + 1] ^= multiply(coefficient, exp[power]) }
            polynomial = next
        }
        return polynomial
    }

    /// The remainder of data · x^degree divided by the generator: the error-correction codewords.
    static func remainder(of data: [UInt8], by generator: [UInt8]) -> [UInt8] {
        var remainder = [UInt8](repeating: 0, count: generator.count - 1)
        for byte in data {
            let factor = byte ^ remainder.removeFirst()
            remainder.append(0)
            for index in remainder.indices { remainder[index] ^= multiply(generator[index + 1], factor) }
        }
        return remainder
    }
}

/// `data` followed by the remainder of data · x^degree divided by `generator`, a polynomial over GF(2) of that degree.
private func bch(_ data: Int, generator: Int, degree: Int) -> Int {
    var remainder = data << degree
    for bit in stride(from: Int.bitWidth - 1 - remainder.leadingZeroBitCount, through: degree, by: -1)
    where remainder >> bit & 1 == 1 {
        remainder ^= generator << (bit - degree)
    }
    return data << degree | remainder
}

// MARK: - Matrix

private struct Grid {
    let size: Int
    var dark: [Bool]
    /// Modules of function patterns, which data and masks leave alone.
    var reserved: [Bool]

    init(size: Int) {
        self.size = size
        dark = Array(repeating: false, count: size * size)
        reserved = dark
    }

    mutating func set(_ x: Int, _ y: Int, _ isDark: Bool) {
        dark[y * size + x] = isDark
        reserved[y * size + x] = true
    }

    mutating func drawFunctionPatterns(version: Int) {
        for index in 0..<size {
            set(6, index, index % 2 == 0)
            set(index, 6, index % 2 == 0)
        }
        // Finders with their light separators: rings at distance 0–1 and 3 dark, 2 and 4 light.
        for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 { for dx in -4...4 where (0..<size).contains(cx + dx) && (0..<size).contains(cy + dy) {
                let ring = max(abs(dx), abs(dy))
                set(cx + dx, cy + dy, ring != 2 && ring != 4)
            } }
        }
        let centres = Table.alignmentCentres(version: version), last = size - 7
        for cy in centres { for cx in centres where ![(6, 6), (6, last), (last, 6)].contains(where: { $0 == (cx, cy) }) {
            for dy in -2...2 { for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) } }
        } }
        drawFormat(correction: .medium, mask: 0)  // reserves the area; the real bits come with the mask
        if version >= 7 {
            let bits = bch(version, generator: 0x1F25, degree: 12)
            for index in 0..<18 {
                let isDark = bits >> index & 1 == 1, a = size - 11 + index % 3, b = index / 3
                set(a, b, isDark)
                set(b, a, isDark)
            }
        }
    }

    /// Both copies of the format information (level and mask, BCH(15,5), XOR 0x5412) and the dark module.
    mutating func drawFormat(correction: QRCode.Correction, mask: Int) {
        let bits = bch(correction.formatBits << 3 | mask, generator: 0x537, degree: 10) ^ 0x5412
        func bit(_ index: Int) -> Bool { bits >> index & 1 == 1 }
        for index in 0..<6 { set(8, index, bit(index)) }
        set(8, 7, bit(6))
        set(8, 8, bit(7))
        set(7, 8, bit(8))
        for index in 9..<15 { set(14 - index, 8, bit(index)) }
        for index in 0..<8 { set(size - 1 - index, 8, bit(index)) }
        for index in 8..<15 { set(8, size - 15 + index, bit(index)) }
        set(8, size - 8, true)
    }

    /// Places the message bits, most significant first, in two-module columns zigzagging up and down from the
    /// bottom-right, skipping the vertical timing pattern. Remainder bits stay light.
    mutating func place(_ codewords: [UInt8]) {
        var bit = 0, right = size - 1
        while right >= 1 {
            if right == 6 { right = 5 }
            let upward = (right + 1) & 2 == 0
            for step in 0..<size {
                let y = upward ? size - 1 - step : step
                for x in [right, right - 1] where !reserved[y * size + x] && bit < codewords.count * 8 {
                    dark[y * size + x] = codewords[bit / 8] >> (7 - bit % 8) & 1 == 1
                    bit += 1
                }
            }
            right -= 2
        }
    }

    mutating func apply(mask: Int) {
        for y in 0..<size { for x in 0..<size where !reserved[y * size + x] {
            let flip = switch mask {
            case 0: (x + y) % 2 == 0
            case 1: y % 2 == 0
            case 2: x % 3 == 0
            case 3: (x + y) % 3 == 0
            case 4: (y / 2 + x / 3) % 2 == 0
            case 5: x * y % 2 + x * y % 3 == 0
            case 6: (x * y % 2 + x * y % 3) % 2 == 0
            default: ((x + y) % 2 + x * y % 3) % 2 == 0
            }
            if flip { dark[y * size + x].toggle() }
        } }
    }

    /// The standard's score for a masked symbol with its format information; lower is easier to read.
    func penalty() -> Int {
        var score = 0
        for index in 0..<size {
            score += linePenalty(first: index * size, step: 1)
            score += linePenalty(first: index, step: size)
        }
        // N2: every 2×2 block of one colour.
        for y in 0..<size - 1 { for x in 0..<size - 1 {
            let colour = dark[y * size + x]
            if dark[y * size + x + 1] == colour && dark[(y + 1) * size + x] == colour && dark[(y + 1) * size + x + 1] == colour {
                score += 3
            }
        } }
        // N4: ten points for every whole 5% the dark proportion strays from half.
        let darkCount = dark.reduce(0) { $0 + ($1 ? 1 : 0) }, total = size * size
        score += 10 * (abs(darkCount * 20 - total * 10) / total)
        return score
    }

    /// N1 and N3 along the row or column of modules `first`, `first + step`, …
    func linePenalty(first: Int, step: Int) -> Int {
        let dark = dark  // a local copy spares a retain per module in debug builds
        func module(_ index: Int) -> Bool { dark[first + index * step] }
        func isLight(_ from: Int, _ to: Int) -> Bool {
            for index in max(from, 0)..<min(to, size) where module(index) { return false }
            return true  // beyond the edge is the light quiet zone
        }
        var score = 0, run = 0
        for index in 0..<size {
            // N1: each run of five or more modules of one colour.
            run = index > 0 && module(index) == module(index - 1) ? run + 1 : 1
            if run >= 5 && (index == size - 1 || module(index + 1) != module(index)) { score += 3 + run - 5 }
            // N3: each dark-light-dark×3-light-dark look-alike of a finder with four light modules before or after.
            if index + 6 < size && module(index) && !module(index + 1) && module(index + 2) && module(index + 3)
                && module(index + 4) && !module(index + 5) && module(index + 6)
                && (isLight(index - 4, index) || isLight(index + 7, index + 11)) {
                score += 40
            }
        }
        return score
    }
}
