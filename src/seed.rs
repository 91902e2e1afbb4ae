//! Deterministic synthetic data: the same `--seed` gives the same rows, byte for byte.
//! Tickets are generated and inserted in batches, so millions of them stream through a
//! bounded amount of memory.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{
    organization, support_ticket, support_ticket_message, user, Category, MessageType, Subcategory,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait};
use serde_json::json;
use ulid::Ulid;

use crate::ids::{MessageId, OrgId, TicketId, UserId};

/// Tickets per insert batch (20 columns each stays far below both backends' parameter limits).
const TICKET_BATCH: usize = 1000;
/// Messages per insert statement (7 columns each; SQLite allows 32,766 parameters).
const MESSAGE_BATCH: usize = 2000;

/// What a seed run made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedSummary {
    pub organizations: usize,
    pub users: usize,
    pub tickets: usize,
    pub messages: usize,
}

/// Tickets are spread over this many days from 2024-01-01.
const SPAN_DAYS: i64 = 540;

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

fn ulid_at(rng: &mut ChaCha8Rng, at: DateTime<Utc>) -> Ulid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    Ulid::from_parts(ms, rng.random::<u128>())
}

fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if pick < *weight {
            return item;
        }
        pick -= weight;
    }
    &items[items.len() - 1].0
}

fn subcategories_of(category: Category) -> &'static [Subcategory] {
    use Subcategory as S;
    match category {
        Category::Charger => &[
            S::HardwareIssue,
            S::Offline,
            S::Firmware,
            S::Commissioning,
            S::RefusingCommands,
            S::NoCharge,
            S::Network,
        ],
        Category::Vehicle => &[
            S::TelematicsIssue,
            S::Reauthentication,
            S::MaxChargeLimit,
            S::AddNonIntegratedVehicle,
            S::IncorrectTrim,
            S::MultiVehicle,
            S::ReplaceVehicle,
        ],
        Category::MobileApp => &[
            S::AppCrashFreeze,
            S::LoginCredentials,
            S::UiIssue,
            S::AppOrEmailNotifications,
            S::MobileCompatibility,
        ],
        Category::ChargingSession => &[
            S::IncompleteCharge,
            S::ChargingOnPeak,
            S::MissingSessions,
            S::ChargePastReadyByTime,
            S::SessionStartEndTime,
            S::EnergyDeliveredCalculation,
        ],
        Category::Account => &[
            S::Deletion,
            S::Password,
            S::DataExport,
            S::PrivacyConcerns,
            S::Verification,
            S::OwnershipTransfer,
        ],
        Category::Solar => &[
            S::SolarFeed,
            S::SolarChargingConfusion,
            S::Inverter,
            S::SolarPayment,
        ],
        Category::UsabilityUx => &[
            S::Accessibility,
            S::SmartChargingConfusion,
            S::BoostConfusion,
            S::OffPeakHoursConfusion,
            S::AppSettingsConfusion,
        ],
        Category::Other => &[
            S::Other,
            S::Spam,
            S::Duplicate,
            S::WrongCompany,
            S::FeatureRequestFeedback,
            S::Complaint,
        ],
    }
}

fn categorize(rng: &mut ChaCha8Rng) -> (Category, Option<Subcategory>) {
    let weights = [
        (Category::Charger, 24),
        (Category::Vehicle, 20),
        (Category::MobileApp, 16),
        (Category::ChargingSession, 16),
        (Category::Account, 9),
        (Category::Solar, 5),
        (Category::UsabilityUx, 6),
        (Category::Other, 4),
    ];
    let category = *weighted(rng, &weights);
    let sub = if rng.random_bool(0.9) {
        subcategories_of(category).choose(rng).copied()
    } else {
        None
    };
    (category, sub)
}

/// A name as the ASCII local part of an address (`Müller` -> `mueller`): clients validate
/// `email` as RFC 5322, which has no room for other letters.
fn ascii_mailbox(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam",
];
const LAST_NAMES: &[&str] = &[
    "Okafor", "Smith", "Nakamura", "Garcia", "Müller", "Patel", "Rossi", "Kowalski", "Dubois",
    "Larsen",
];
const MAKERS: &[&str] = &[
    "Tesla",
    "Kia",
    "Hyundai",
    "Volkswagen",
    "BMW",
    "Nissan",
    "Renault",
    "Polestar",
];
const EVSES: &[&str] = &[
    "Zappi",
    "Wallbox Pulsar",
    "ChargePoint Home Flex",
    "Ohme Home Pro",
    "Easee One",
];
const TAGS: &[&str] = &["escalated", "vip", "refund", "bug", "follow-up", "billing"];

/// Fills the database with `tickets` tickets and the organizations, users and messages around
/// them. `progress` is told how many tickets are in after each batch.
pub async fn seed(
    db: &DatabaseConnection,
    tickets: usize,
    seed: u64,
    mut progress: impl FnMut(usize, usize),
) -> Result<SeedSummary, String> {
    let fail = |what: &str, e: sea_orm::DbErr| format!("seeding {what} failed: {e}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let base = epoch();
    let org_count = (tickets / 500).clamp(2, 2000);
    let user_count = (tickets / 10).clamp(5, 200_000);

    let org_times: Vec<DateTime<Utc>> = (0..org_count)
        .map(|i| base - Duration::days(400) + Duration::hours(i as i64))
        .collect();
    let org_ids: Vec<String> = org_times
        .iter()
        .map(|&at| OrgId::from_ulid(ulid_at(&mut rng, at)).into_string())
        .collect();
    let orgs: Vec<organization::ActiveModel> = org_ids
        .iter()
        .zip(&org_times)
        .enumerate()
        .map(|(i, (id, at))| organization::ActiveModel {
            id: Set(id.clone()),
            name: Set(format!("Fleet {:03}", i + 1)),
            created_at: Set(*at),
        })
        .collect();
    if organization::Entity::find_by_id(org_ids[0].clone())
        .count(db)
        .await
        .map_err(|e| fail("organizations", e))?
        > 0
    {
        return Err(format!("the database already holds the data of seed {seed}; use a fresh database or another --seed"));
    }
    let mut users = Vec::with_capacity(user_count);
    let mut user_ids = Vec::with_capacity(user_count);
    for i in 0..user_count {
        let joined =
            base - Duration::days(300) + Duration::minutes(rng.random_range(0..(300 * 24 * 60)));
        let org = if rng.random_bool(0.85) {
            Some(org_ids[i % org_ids.len()].clone())
        } else {
            None
        };
        let first = *FIRST_NAMES.choose(&mut rng).unwrap_or(&"Sam");
        let last = *LAST_NAMES.choose(&mut rng).unwrap_or(&"Lee");
        let id = UserId::from_ulid(ulid_at(&mut rng, joined)).into_string();
        user_ids.push(id.clone());
        users.push(user::ActiveModel {
            id: Set(id),
            organization_id: Set(org),
            email: Set(format!(
                "{}.{}{}@example.com",
                ascii_mailbox(first),
                ascii_mailbox(last),
                i
            )),
            full_name: Set(format!("{first} {last}")),
            joined_at: Set(joined),
        });
    }

    let txn = db.begin().await.map_err(|e| fail("organizations", e))?;
    organization::Entity::insert_many(orgs)
        .exec(&txn)
        .await
        .map_err(|e| fail("organizations", e))?;
    for chunk in users.chunks(TICKET_BATCH) {
        user::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await
            .map_err(|e| fail("users", e))?;
    }
    txn.commit().await.map_err(|e| fail("users", e))?;

    let mut summary = SeedSummary {
        organizations: org_count,
        users: user_count,
        tickets: 0,
        messages: 0,
    };
    let span_seconds = SPAN_DAYS * 24 * 3600;
    let mut done = 0;
    while done < tickets {
        let batch = TICKET_BATCH.min(tickets - done);
        let mut ticket_rows = Vec::with_capacity(batch);
        let mut message_rows = Vec::with_capacity(batch * 6);
        for i in 0..batch {
            let index = done + i;
            // Evenly spread creation times, jittered, so ids sort by time across batches.
            let slot = span_seconds * index as i64 / tickets.max(1) as i64;
            let created = base + Duration::seconds(slot + rng.random_range(0..60));
            let (ticket, messages) = ticket(&mut rng, index, created, &user_ids);
            ticket_rows.push(ticket);
            message_rows.extend(messages);
        }
        summary.messages += message_rows.len();
        let txn = db.begin().await.map_err(|e| fail("tickets", e))?;
        // Generated history is not news: subscribers are not told of it.
        crate::data::changes::begin_bulk_load(&txn)
            .await
            .map_err(|e| format!("seeding tickets failed: {}", e.message()))?;
        support_ticket::Entity::insert_many(ticket_rows)
            .exec(&txn)
            .await
            .map_err(|e| fail("tickets", e))?;
        for chunk in message_rows.chunks(MESSAGE_BATCH) {
            support_ticket_message::Entity::insert_many(chunk.to_vec())
                .exec(&txn)
                .await
                .map_err(|e| fail("messages", e))?;
        }
        crate::data::changes::end_bulk_load(&txn)
            .await
            .map_err(|e| format!("seeding tickets failed: {}", e.message()))?;
        txn.commit().await.map_err(|e| fail("tickets", e))?;
        done += batch;
        summary.tickets = done;
        progress(done, tickets);
    }
    crate::db::vacuum_analyze(db).await?;
    Ok(summary)
}

fn ticket(
    rng: &mut ChaCha8Rng,
    index: usize,
    created: DateTime<Utc>,
    user_ids: &[String],
) -> (
    support_ticket::ActiveModel,
    Vec<support_ticket_message::ActiveModel>,
) {
    let id = TicketId::from_ulid(ulid_at(rng, created)).into_string();
    let user_id = if rng.random_bool(0.05) {
        None
    } else {
        user_ids.choose(rng).cloned()
    };
    let status = *weighted(
        rng,
        &[
            ("Open", 20),
            ("Pending", 10),
            ("Resolved", 45),
            ("Closed", 25),
        ],
    );
    let priority = *weighted(
        rng,
        &[
            (Some("Low"), 30),
            (Some("Medium"), 40),
            (Some("High"), 20),
            (Some("Urgent"), 5),
            (None, 5),
        ],
    );
    let source = if user_id.is_none() {
        *weighted(rng, &[(Some("Web Form"), 70), (Some("Email"), 30)])
    } else {
        *weighted(
            rng,
            &[
                (Some("Email"), 45),
                (Some("Phone"), 10),
                (Some("Chat"), 15),
                (Some("Feedback Widget"), 15),
                (Some("Web Form"), 10),
                (None, 5),
            ],
        )
    };
    let ai = if rng.random_bool(0.85) {
        Some(categorize(rng))
    } else {
        None
    };
    let human = if rng.random_bool(0.55) {
        match ai {
            Some(pair) if rng.random_bool(0.75) => Some(pair),
            _ => Some(categorize(rng)),
        }
    } else {
        None
    };
    let mut tags: Vec<&str> = TAGS
        .iter()
        .copied()
        .filter(|_| rng.random_bool(0.12))
        .collect();
    if ai.is_some() {
        tags.insert(0, "ai-categorised");
    }
    let resolved = matches!(status, "Resolved" | "Closed");
    let resolved_at =
        resolved.then(|| created + Duration::minutes(rng.random_range(10..(14 * 24 * 60))));
    let topic = human.or(ai).map(|(c, _)| c.label()).unwrap_or("General");
    let subject = if rng.random_bool(0.97) {
        Some(format!("{topic} question #{}", 1000 + index))
    } else {
        None
    };

    let count = rng.random_range(1..=10);
    let mut at = created;
    let mut messages = Vec::with_capacity(count);
    for position in 0..count {
        let kind = match position {
            0 => MessageType::InitialRequest,
            p if p % 2 == 1 => {
                if rng.random_bool(0.6) {
                    MessageType::HumanAgentResponse
                } else {
                    MessageType::AiAgentResponse
                }
            }
            _ => MessageType::CustomerResponse,
        };
        if position > 0 {
            at += Duration::minutes(rng.random_range(5..(48 * 60)));
        }
        let text = match kind {
            MessageType::InitialRequest => format!("Hello, I need help: {topic}. Ticket {index}."),
            MessageType::CustomerResponse => {
                "Thanks, I tried that but it still happens.".to_owned()
            }
            MessageType::HumanAgentResponse => {
                "Thanks for getting in touch, let me look into this for you.".to_owned()
            }
            MessageType::AiAgentResponse => "Here are some steps that usually fix this.".to_owned(),
        };
        messages.push(support_ticket_message::ActiveModel {
            id: Set(MessageId::from_ulid(ulid_at(rng, at)).into_string()),
            ticket_id: Set(id.clone()),
            position: Set(position as i32),
            message_type: Set(kind),
            message_clean: Set(rng
                .random_bool(0.8)
                .then(|| text.chars().take(40).collect())),
            message: Set(text),
            created_at: Set(at),
        });
    }
    let updated = if rng.random_bool(0.95) {
        Some(resolved_at.map_or(at, |r| r.max(at)))
    } else {
        None
    };
    let custom_fields = json!({
        "car_manufacturer": MAKERS.choose(rng).copied().unwrap_or("Tesla"),
        "mobile_app": if rng.random_bool(0.6) { "iOS" } else { "Android" },
        "legal_country": *weighted(rng, &[("GB", 60), ("US", 30), ("DE", 10)]),
    });
    let attributes = if rng.random_bool(0.7) {
        json!({ "evse_model": EVSES.choose(rng).copied().unwrap_or("Zappi") })
    } else {
        json!({})
    };
    let ticket = support_ticket::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        external_ticket_id: Set(format!("{}", 100_000 + index)),
        subject: Set(subject),
        status: Set(Some(status.to_owned())),
        priority: Set(priority.map(str::to_owned)),
        source: Set(source.map(str::to_owned)),
        human_verified_category: Set(human.map(|(c, _)| c)),
        human_verified_subcategory: Set(human.and_then(|(_, s)| s)),
        ai_generated_category: Set(ai.map(|(c, _)| c)),
        ai_generated_subcategory: Set(ai.and_then(|(_, s)| s)),
        type_deprecated: Set(rng.random_bool(0.1).then(|| "Vehicle API error".to_owned())),
        tags: Set(json!(tags)),
        conversation_summary: Set(rng
            .random_bool(0.6)
            .then(|| format!("Customer reports a {} problem.", topic.to_lowercase()))),
        custom_fields: Set(custom_fields),
        attributes: Set(attributes),
        created_at: Set(created),
        ticket_updated_at: Set(updated),
        resolved_at: Set(resolved_at),
        version: Set(1),
    };
    (ticket, messages)
}
