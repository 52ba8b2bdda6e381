// Every GraphQL document of both mini-programs (vendored into each as lib/zsb-shared/graphql.js). The static check
// (tests/client/test_mini_programs.py) validates each template tagged with the GraphQL comment against
// schema/schema.graphql, so keep them literal (no ${} interpolation).

export const MY_PAGE = /* GraphQL */ `
  query MpMyPage {
    me { id name maskedMobile assuranceLevel }
    myHomePage {
      unreadMessageCount
      applicationsInProgress { id projectNo serviceName status nextAction nextActionText }
      billsDue { id billNo title amountYuan applicationId }
    }
  }
`;

export const SEARCH_SERVICES = /* GraphQL */ `
  query MpSearch($query: String!, $after: String) {
    searchServices(query: $query, first: 20, after: $after) {
      edges { node { service { serviceCode name departmentName visitsRequired onlineDepthLevel } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const SUGGEST_SERVICES = /* GraphQL */ `
  query MpSuggest($prefix: String!) {
    suggestServices(prefix: $prefix, first: 8) { text serviceCode }
  }
`;

export const SERVICE_GUIDE = /* GraphQL */ `
  query MpGuide($serviceCode: String!) {
    serviceGuide(serviceCode: $serviceCode) {
      item { serviceCode name departmentName acceptsApplications statusNote }
      formVersion
      acceptCondition
      transactTime
      isFee
      feeBasis
      promiseLimit { text }
      materials { id name necessity originalCount copyCount }
      fees { name standard amountYuan }
      windows { name address hours phone }
    }
  }
`;

export const NAVIGATE = /* GraphQL */ `
  query MpNavigate($serviceCode: String!, $answers: [NavigationAnswerInput!]) {
    navigate(serviceCode: $serviceCode, answers: $answers) {
      __typename
      ... on NavigationGuide {
        complete
        questions { situationId question chosenOptionKey options { key label } }
        materials { id name necessity originalCount copyCount }
        visitsRequired
        visitsReason
      }
      ... on Error { code message path }
    }
  }
`;

export const FORM_TEMPLATE = /* GraphQL */ `
  query MpFormTemplate($serviceCode: String!, $version: String!) {
    formTemplate(serviceCode: $serviceCode, version: $version)
  }
`;

export const MY_APPLICATIONS = /* GraphQL */ `
  query MpApplications($after: String) {
    myApplications(first: 20, after: $after) {
      edges { node { id projectNo itemName status statusLabel applyTime promiseDate } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export const APPLICATION = /* GraphQL */ `
  query MpApplication($id: ID!) {
    application(id: $id) {
      id projectNo itemName status statusLabel evaluationStatus applyTime promiseDate
      timeline { seq type stepName actorName opinion at }
    }
    myHomePage {
      billsDue { id billNo title amountYuan applicationId }
    }
  }
`;

export const LOOKUP_BILL = /* GraphQL */ `
  query MpBill($billNo: String!) {
    lookupBill(input: { billNo: $billNo }) { id billNo subject issuer amountYuan status applicationId }
  }
`;

export const CREATE_PAYMENT = /* GraphQL */ `
  mutation MpCreatePayment($input: CreatePaymentInput!) {
    createPayment(input: $input) {
      __typename
      ... on PaymentOrder {
        id status amountYuan sandboxCashierUrl
        payload {
          __typename
          ... on WechatJsapiPayload { appId timeStamp nonceStr package signType paySign }
          ... on AlipayJsapiPayload { tradeNo }
        }
      }
      ... on Error { code message }
    }
  }
`;

export const CONFIRM_PAYMENT = /* GraphQL */ `
  mutation MpConfirmPayment($orderId: ID!) {
    confirmPayment(input: { orderId: $orderId }) {
      __typename
      ... on PaymentOrder { id status paidAt }
      ... on Error { code message }
    }
  }
`;

export const MY_LICENSES = /* GraphQL */ `
  query MpLicenses {
    myLicenses(first: 50) {
      edges { node { id name typeName certNumber holderName validTo status } }
    }
  }
`;

export const SHOW_LICENSE = /* GraphQL */ `
  mutation MpShowLicense($licenseId: ID!) {
    showLicense(input: { licenseId: $licenseId }) {
      __typename
      ... on LicenseQrToken { licenseId qrPayload expiresAt ttlSeconds }
      ... on Error { code message }
    }
  }
`;

export const RATING_FORM = /* GraphQL */ `
  query MpRatingForm {
    ratingForm(kind: ONLINE) {
      version
      levels { code stars label }
      badReasons { code label }
      textMaxChars
    }
  }
`;

export const RATE_SERVICE = /* GraphQL */ `
  mutation MpRateService($input: RateServiceInput!) {
    rateService(input: $input) {
      __typename
      ... on ServiceRated { rating { id levelLabel stars } }
      ... on Error { code message path }
    }
  }
`;
