/// The librdkafka that is loaded at run time (not the headers compiled against).
public enum LibrdkafkaVersion {
    /// 2.2.0: older releases (Debian 12 ships 2.0.2) mis-skip tagged protocol
    /// fields and fail their first request to modern brokers.
    public static let minimum: Int32 = 0x0202_0000

    /// The loaded version as librdkafka prints it, e.g. "2.16.1".
    public static var loaded: String { RDKafkaVersion.string }

    /// Throws ``KafkaError/Code/unsupportedLibrary`` naming the loaded version and
    /// how to get a newer one, when the loaded librdkafka is older than 2.2.0.
    public static func requireSupported() throws(KafkaError) {
        guard RDKafkaVersion.number >= minimum else {
            throw KafkaError(
                .unsupportedLibrary,
                """
                librdkafka \(loaded) is loaded, but CaseHub needs 2.2.0 or newer \
                (older versions fail their first request to modern brokers). \
                Run Deploy/local/setup.sh, which installs librdkafka 2.16 into .local/lib, \
                and start CaseHub with LD_LIBRARY_PATH=.local/lib (the Makefile does this), \
                or install librdkafka >= 2.2 system-wide.
                """
            )
        }
    }
}
