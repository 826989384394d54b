import Foundation
import Models

/// Realistic synthetic signers for load tests: names in many scripts, addresses at common providers,
/// countries weighted like a world audience, and duplicates typed the way people retype their address
/// (case, gmail dots, `+tags`, spaces). Deterministic for a seed, so runs can be repeated and checked.
struct SignerFactory: Sendable {
    struct Signer: Sendable {
        var index: Int
        var name: String
        var email: String
        var country: String
    }

    let seed: UInt64

    static let givenNames = ["Amina", "Wei", "Sofía", "Олена", "Kwame", "Priya", "Yuki", "Mateus", "Fatima", "Lars",
                             "محمد", "Chidi", "Ana", "Hiroshi", "Leila", "Jonas", "Zanele", "Arjun", "Mei", "Tomás",
                             "Ngozi", "Élodie", "Søren", "Aylin", "דוד", "Καλλιόπη", "Nguyễn", "Aroha", "Dmitri", "Imani"]
    static let familyNames = ["Okafor", "Zhang", "García", "Kovalenko", "Mensah", "Sharma", "Tanaka", "Silva", "Haddad",
                              "Andersen", "Nakamura", "Müller", "Ndlovu", "Rossi", "Kim", "O'Brien", "Dubois", "Yilmaz",
                              "Cohen", "Papadopoulou", "Trần", "Ngata", "Ivanov", "Mwangi", "Smith", "Lopez", "Khan"]
    /// Rough weights of a world festival audience.
    static let countries: [(String, Int)] = [
        ("US", 14), ("IN", 10), ("BR", 7), ("GB", 6), ("DE", 6), ("FR", 6), ("NG", 5), ("MX", 4), ("JP", 4), ("ID", 4),
        ("KE", 3), ("ZA", 3), ("CA", 3), ("IT", 3), ("ES", 3), ("PH", 3), ("AU", 2), ("EG", 2), ("AR", 2), ("PL", 2),
        ("TR", 2), ("KR", 2), ("NL", 1), ("SE", 1), ("GH", 1), ("CO", 1), ("PK", 1), ("VN", 1), ("NZ", 1), ("UA", 1),
    ]
    static let domains = ["gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "icloud.com", "example.org",
                          "mail.example.net", "proton.me", "hotmail.com"]
    private static let countryTable: [String] = countries.flatMap { Array(repeating: $0.0, count: $0.1) }

    func signer(_ index: Int) -> Signer {
        var random = SplitMix(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let given = Self.givenNames[Int(random.next() % UInt64(Self.givenNames.count))]
        let family = Self.familyNames[Int(random.next() % UInt64(Self.familyNames.count))]
        let domain = Self.domains[Int(random.next() % UInt64(Self.domains.count))]
        let country = Self.countryTable[Int(random.next() % UInt64(Self.countryTable.count))]
        return Signer(index: index, name: "\(given) \(family)", email: "signer.\(seed).\(index)@\(domain)", country: country)
    }

    /// The same person typing their address differently.
    func variant(of signer: Signer, _ attempt: Int) -> Signer {
        var copy = signer
        let parts = signer.email.split(separator: "@")
        let local = String(parts[0]), domain = String(parts[1])
        switch (attempt + signer.index) % 4 {
        case 0: copy.email = " " + signer.email.uppercased() + " "
        case 1: copy.email = (domain == "gmail.com" ? local.replacingOccurrences(of: ".", with: "") : local) + "@" + domain.uppercased()
        case 2: copy.email = local + (["gmail.com", "outlook.com", "icloud.com", "proton.me", "hotmail.com"].contains(domain) ? "+stage" : "") + "@" + domain
        default: copy.email = local.capitalized + "@" + (domain == "gmail.com" ? "googlemail.com" : domain)
        }
        return copy
    }
}

