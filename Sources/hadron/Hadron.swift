import ArgumentParser

/// The one Hadron executable; the tier or tool is the subcommand (DESIGN.md §8).
@main
struct Hadron: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hadron",
        abstract: "Hadron: CloudEvents-native event streaming.",
        subcommands: [
            DevCommand.self, ControllerCommand.self, StorageCommand.self, GatewayCommand.self, PublishCommand.self, TailCommand.self,
            OperatorCommand.self, ValidateCommand.self, PartitionCommand.self,
        ]
    )
}
