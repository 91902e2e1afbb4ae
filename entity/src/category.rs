//! The categorization enums of the Support Tickets contract, each value with its human-readable label.

use crate::labelled_enum;
use sea_orm::sea_query::StringLen;

labelled_enum! {
    /// Main category of a support ticket.
    Category {
        Account => "ACCOUNT", "Account";
        Charger => "CHARGER", "Charger";
        ChargingSession => "CHARGING_SESSION", "Charging Session";
        MobileApp => "MOBILE_APP", "Mobile App";
        Other => "OTHER", "Other";
        Solar => "SOLAR", "Solar";
        UsabilityUx => "USABILITY_UX", "Usability/UX";
        Vehicle => "VEHICLE", "Vehicle";
    }
}

labelled_enum! {
    /// Subcategory of a support ticket.
    Subcategory {
        Accessibility => "ACCESSIBILITY", "Accessibility";
        Accuracy => "ACCURACY", "Accuracy";
        AddNonIntegratedVehicle => "ADD_NON_INTEGRATED_VEHICLE", "Add non-integrated vehicle";
        AddNewTariff => "ADD_NEW_TARIFF", "Add new tariff";
        ApiAccessToken => "API_ACCESS_TOKEN", "API access token";
        AppCrashFreeze => "APP_CRASH_FREEZE", "App crash / freeze";
        AppOrEmailNotifications => "APP_OR_EMAIL_NOTIFICATIONS", "App or email notifications";
        AppSettingsConfusion => "APP_SETTINGS_CONFUSION", "App settings confusion";
        BoostConfusion => "BOOST_CONFUSION", "Boost confusion";
        BusinessLeadNonSupport => "BUSINESS_LEAD_NON_SUPPORT", "Business lead (non-support)";
        CampaignMarketingFeedback => "CAMPAIGN_MARKETING_FEEDBACK", "Campaign marketing feedback";
        CarbonFeed => "CARBON_FEED", "Carbon feed";
        ChargeLocation => "CHARGE_LOCATION", "Charge location";
        ChargePastReadyByTime => "CHARGE_PAST_READY_BY_TIME", "Charge past ready-by time";
        ChargingOnPeak => "CHARGING_ON_PEAK", "Charging on-peak";
        Commissioning => "COMMISSIONING", "Commissioning";
        Compatibility => "COMPATIBILITY", "Compatibility";
        Complaint => "COMPLAINT", "Complaint";
        ConflictingSchedule => "CONFLICTING_SCHEDULE", "Conflicting schedule";
        DashboardCosmeticIssue => "DASHBOARD_COSMETIC_ISSUE", "Dashboard cosmetic issue";
        DashboardUiIssue => "DASHBOARD_UI_ISSUE", "Dashboard UI issue";
        DataExport => "DATA_EXPORT", "Data export";
        Deletion => "DELETION", "Deletion";
        Duplicate => "DUPLICATE", "Duplicate";
        Eligibility => "ELIGIBILITY", "Eligibility";
        EnergyDeliveredCalculation => "ENERGY_DELIVERED_CALCULATION", "Energy delivered calculation";
        ErrorReport => "ERROR_REPORT", "Error report";
        FeatureRequestFeedback => "FEATURE_REQUEST_FEEDBACK", "Feature request / feedback";
        Firmware => "FIRMWARE", "Firmware";
        Hardware => "HARDWARE", "Hardware";
        HardwareIssue => "HARDWARE_ISSUE", "Hardware Issue";
        HiddenIncentives => "HIDDEN_INCENTIVES", "Hidden incentives";
        IncentivesBillCredits => "INCENTIVES_BILL_CREDITS", "Incentives / bill credits";
        IncompleteCharge => "INCOMPLETE_CHARGE", "Incomplete charge";
        IncorrectChargeTimeDuration => "INCORRECT_CHARGE_TIME_DURATION", "Incorrect charge time duration";
        IncorrectIncentivesDisplayed => "INCORRECT_INCENTIVES_DISPLAYED", "Incorrect incentives displayed";
        IncorrectKwhDisplayed => "INCORRECT_KWH_DISPLAYED", "Incorrect kWh displayed";
        IncorrectLocationDisplayed => "INCORRECT_LOCATION_DISPLAYED", "Incorrect location displayed";
        IncorrectMessaging => "INCORRECT_MESSAGING", "Incorrect messaging";
        IncorrectPriceThreshold => "INCORRECT_PRICE_THRESHOLD", "Incorrect price threshold";
        IncorrectTrim => "INCORRECT_TRIM", "Incorrect trim";
        Inverter => "INVERTER", "Inverter";
        Localisation => "LOCALISATION", "Localisation";
        LocationIncorrect => "LOCATION_INCORRECT", "Location incorrect";
        LoginCredentials => "LOGIN_CREDENTIALS", "Login credentials";
        ManualUpload => "MANUAL_UPLOAD", "Manual upload";
        MaxChargeLimit => "MAX_CHARGE_LIMIT", "Max charge limit";
        MissingSessions => "MISSING_SESSIONS", "Missing sessions";
        MissingTariff => "MISSING_TARIFF", "Missing tariff";
        MobileCompatibility => "MOBILE_COMPATIBILITY", "Mobile compatibility";
        MultiVehicle => "MULTI_VEHICLE", "Multi-vehicle";
        Network => "NETWORK", "Network";
        NoCharge => "NO_CHARGE", "No charge";
        NonSupportExternal => "NON_SUPPORT_EXTERNAL", "Non-support (external)";
        NotCompatible => "NOT_COMPATIBLE", "Not compatible";
        MangedTariffInterference => "MANGED_TARIFF_INTERFERENCE", "Managed tariff interference";
        Offline => "OFFLINE", "Offline";
        OffPeakHoursConfusion => "OFF_PEAK_HOURS_CONFUSION", "Off-peak hours confusion";
        Onboarding => "ONBOARDING", "Onboarding";
        OnlyChargeOffPeakOff => "ONLY_CHARGE_OFF_PEAK_OFF", "Only charge off-peak off";
        Other => "OTHER", "Other";
        Outage => "OUTAGE", "Outage";
        OwnershipTransfer => "OWNERSHIP_TRANSFER", "Ownership transfer";
        Password => "PASSWORD", "Password";
        PlatformOutage => "PLATFORM_OUTAGE", "Platform outage";
        PoorUptime => "POOR_UPTIME", "Poor uptime";
        PrivacyConcerns => "PRIVACY_CONCERNS", "Privacy concerns";
        Reauthentication => "REAUTHENTICATION", "Reauthentication";
        RebateRequest => "REBATE_REQUEST", "Rebate request";
        ReferralPromoCode => "REFERRAL_PROMO_CODE", "Referral / promo code";
        Refunds => "REFUNDS", "Refunds";
        RefusingCommands => "REFUSING_COMMANDS", "Refusing commands";
        Reliability => "RELIABILITY", "Reliability";
        ReplaceVehicle => "REPLACE_VEHICLE", "Replace vehicle";
        RequestToDisconnect => "REQUEST_TO_DISCONNECT", "Request to disconnect";
        Rewards => "REWARDS", "Rewards";
        RewardsIncentivesUiIssue => "REWARDS_INCENTIVES_UI_ISSUE", "Rewards / incentives UI issue";
        SessionRecalculation => "SESSION_RECALCULATION", "Session recalculation";
        SessionStartEndTime => "SESSION_START_END_TIME", "Session start / end time";
        SessionStartEndTimeConfusion => "SESSION_START_END_TIME_CONFUSION", "Session start / end time confusion";
        SmartChargingConfusion => "SMART_CHARGING_CONFUSION", "Smart charging confusion";
        SmartTabUiIssue => "SMART_TAB_UI_ISSUE", "Smart tab UI issue";
        SolarChargingConfusion => "SOLAR_CHARGING_CONFUSION", "Solar charging confusion";
        SolarFeed => "SOLAR_FEED", "Solar feed";
        SolarPayment => "SOLAR_PAYMENT", "Solar payment";
        Spam => "SPAM", "Spam";
        StatsCosmeticIssue => "STATS_COSMETIC_ISSUE", "Stats cosmetic issue";
        StatsUiIssue => "STATS_UI_ISSUE", "Stats UI issue";
        SubscriptionIssue => "SUBSCRIPTION_ISSUE", "Subscription issue";
        TariffIsOutdatedIncorrect => "TARIFF_IS_OUTDATED_INCORRECT", "Tariff is outdated / incorrect";
        TariffRequest => "TARIFF_REQUEST", "Tariff request";
        TelematicsIssue => "TELEMATICS_ISSUE", "Telematics issue";
        TierSelection => "TIER_SELECTION", "Tier selection";
        Trim => "TRIM", "Trim";
        UiIssue => "UI_ISSUE", "UI issue";
        UnableToDetectCarPluggedIn => "UNABLE_TO_DETECT_CAR_PLUGGED_IN", "Unable to detect car plugged in";
        UtilityPartnerInquiry => "UTILITY_PARTNER_INQUIRY", "Utility partner inquiry";
        VehicleDeletion => "VEHICLE_DELETION", "Vehicle deletion";
        Verification => "VERIFICATION", "Verification";
        WrongCompany => "WRONG_COMPANY", "Wrong company";
    }
}
