//! The client loop: read a line, run it, print its result, repeat until the
//! input ends or `quit`. Keeps the session between commands.

use std::io::{BufRead, IsTerminal, Write};

use crate::config::{Args, ClusterConfig, Component};
use crate::market::RequestId;

use super::commands::{buyer_commands, encode, seller_commands, Call, CommandSpec, Render};
use super::http::{CallError, FrontendClient};
use super::line::split_line;
use super::output::{render_error, render_json, render_plain};

/// Which client this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// `seller-client`
    Seller,
    /// `buyer-client`
    Buyer,
}

/// A client's state between commands.
struct Client {
    commands: Vec<CommandSpec>,
    frontends: FrontendClient,
    session: Option<String>,
    json: bool,
    /// The rest of the last list shown (a search, a seller's list, a
    /// history), if
    /// it did not fit on one page: what `more` shows next.
    rest_of_list: Option<Continuation>,
}

/// Where the last list shown goes on: its call and the cursor its last
/// page ended with (the reply's `next`).
struct Continuation {
    path: String,
    render: Render,
    after: String,
}

/// Runs a client over stdin and stdout. Exits 0 at the end of input; errors
/// of single commands are printed, not fatal.
pub fn run_client(
    kind: ClientKind,
    arguments: impl IntoIterator<Item = String>,
) -> Result<(), String> {
    let args = Args::parse(arguments, &["--config", "--json"]).map_err(|e| e.to_string())?;
    let (component, commands) = match kind {
        ClientKind::Seller => (Component::SellerServer, seller_commands()),
        ClientKind::Buyer => (Component::BuyerServer, buyer_commands()),
    };
    if args.help {
        let role = match kind {
            ClientKind::Seller => "seller",
            ClientKind::Buyer => "buyer",
        };
        println!(
            "usage: {role}-client [--config conf/local.json] [--json]  \
             (commands on stdin; `help` lists them)"
        );
        return Ok(());
    }
    let config = ClusterConfig::load(&args.config).map_err(|e| e.to_string())?;
    let endpoints = (0..config.count(component))
        .filter_map(|i| config.endpoint(component, i).cloned())
        .collect();
    let mut client = Client {
        commands,
        frontends: FrontendClient::new(endpoints),
        session: None,
        json: args.json,
        rest_of_list: None,
    };
    let interactive = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("> ");
            let _ = stdout.flush();
        }
        let Some(line) = lines.next() else {
            return Ok(());
        };
        let line = line.map_err(|e| format!("cannot read standard input: {e}"))?;
        let words = match split_line(&line) {
            Ok(words) => words,
            Err(why) => {
                println!("{}", render_error(client.json, "invalid_input", &why));
                continue;
            }
        };
        match words.first().map(String::as_str) {
            None => continue,
            Some("quit" | "exit") => return Ok(()),
            Some("help") => client.print_help(),
            Some("more") => {
                for output in client.more(&words[1..]) {
                    println!("{output}");
                }
            }
            Some(_) => {
                for output in client.run(&words) {
                    println!("{output}");
                }
            }
        }
        let _ = stdout.flush();
    }
}

impl Client {
    fn print_help(&self) {
        let mut lines: Vec<String> = self
            .commands
            .iter()
            .map(|c| format!("  {}", c.usage()))
            .collect();
        lines.insert(0, "ok commands:".into());
        lines.push("  more".into());
        lines.push("  help".into());
        lines.push("  quit".into());
        for line in lines {
            println!("{line}");
        }
    }

    /// Runs one command and returns the lines to print.
    fn run(&mut self, words: &[String]) -> Vec<String> {
        let Some(spec) = self.commands.iter().find(|c| c.name == words[0]) else {
            let message = format!("unknown command {:?}; `help` lists the commands", words[0]);
            return vec![render_error(self.json, "invalid_input", &message)];
        };
        let arguments = &words[1..];
        if arguments.len() < spec.arguments_min || arguments.len() > spec.arguments_max {
            return vec![render_error(
                self.json,
                "invalid_input",
                &format!("usage: {}", spec.usage()),
            )];
        }
        let call = match (spec.build)(arguments) {
            Ok(call) => call,
            Err(why) => return vec![render_error(self.json, "invalid_input", &why)],
        };
        let list = call.path.clone();
        self.send(spec.name, spec.render, call, &list)
    }

    /// Shows the next page of the last list whose header ended in `more`
    /// (in JSON mode: whose reply had a `next`), and remembers where that
    /// page ends in turn.
    fn more(&mut self, arguments: &[String]) -> Vec<String> {
        if !arguments.is_empty() {
            return vec![render_error(self.json, "invalid_input", "usage: more")];
        }
        let Some(list) = &self.rest_of_list else {
            let message = "nothing more to show: `more` goes on with the last search or list \
                           while it has more items";
            return vec![render_error(self.json, "invalid_input", message)];
        };
        let separator = if list.path.contains('?') { '&' } else { '?' };
        let path = format!("{}{separator}after={}", list.path, encode(&list.after));
        let call = Call {
            method: "GET",
            path,
            body: None,
        };
        let (render, list) = (list.render, list.path.clone());
        // A page that fails (no frontend answers) leaves `rest_of_list` as
        // it was, so `more` can ask for it again.
        self.send("more", render, call, &list)
    }

    /// Makes `call` and returns the lines that show its reply. `list` is
    /// the path of the list the call shows a page of (the call's own path
    /// but for `more`), kept for `more` if the reply has a `next`.
    fn send(&mut self, name: &str, render: Render, call: Call, list: &str) -> Vec<String> {
        if render.is_paged() && name != "more" {
            // A new list, even one that fails, ends the one before.
            self.rest_of_list = None;
        }
        // One id per command: every retry of it, on any frontend, is the
        // same request to the databases.
        let request_id = RequestId::random();
        let reply = self.frontends.call(
            call.method,
            &call.path,
            self.session.as_deref(),
            &request_id.0,
            call.body.as_ref(),
        );
        match reply {
            Ok(reply) => {
                match name {
                    "login" => self.session = reply["session"].as_str().map(String::from),
                    "logout" => self.session = None,
                    _ => {}
                }
                if render.is_paged() {
                    // A new list replaces the one `more` went on with.
                    self.rest_of_list = reply["next"].as_str().map(|next| Continuation {
                        path: list.to_string(),
                        render,
                        after: next.to_string(),
                    });
                }
                if self.json {
                    vec![render_json(&reply)]
                } else {
                    render_plain(render, &reply)
                }
            }
            Err(CallError::Refused { kind, message, .. }) => {
                vec![render_error(self.json, &kind, &message)]
            }
            Err(error @ CallError::Unreachable(_)) => {
                vec![render_error(self.json, "unavailable", &error.to_string())]
            }
        }
    }
}
