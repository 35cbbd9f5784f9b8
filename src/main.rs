use clap::Parser;

fn main() -> std::process::ExitCode {
    ragd::cli::Cli::parse().run()
}
